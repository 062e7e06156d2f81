"""Checkpoints after the fact: the server side of the Compare tab.

* :mod:`~dashapp.checkpoints.folders` -- the folders a dashboard may browse (the served
  runs' ``checkpoints/`` and the ``neurodash serve --checkpoints`` folders), and the one
  check every path the page sends back goes through;
* :mod:`~dashapp.checkpoints.analysis` -- one file analysed with ``health.analyze_checkpoint``
  (the function ``neurodash health`` calls), its result cached on disk by the file's bytes
  and the analysis settings;
* :mod:`~dashapp.checkpoints.jobs` -- an analysis of several files as a job folder on disk
  (request, progress, result), worked through off the request thread by a small pool of
  worker processes, so any server process can show its progress and its result.

Importing this package does not import torch or weightwatcher; only the worker
processes do.
"""
