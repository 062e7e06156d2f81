"""The Compare tab: checkpoints after the fact, with the same figures as ``neurodash health``.

Pick a folder of checkpoints (a served run's ``checkpoints/``, or a folder given to
``neurodash serve --checkpoints``), analyse it in the background -- a progress bar counts
the files -- and see, per network: alpha across checkpoints over the alpha bands, a
layer x checkpoint heatmap (alpha, stable-rank share, dead-neuron share), the pattern
and the checkpoint to keep, and any checkpoint's full report; the report files download.

The layout is :mod:`~dashapp.tabs.compare.view`, the callbacks
:mod:`~dashapp.tabs.compare.callbacks`, the text panels :mod:`~dashapp.tabs.compare.report`;
the server side (folders, jobs, the result cache) is :mod:`dashapp.checkpoints`, the
figures :mod:`dashapp.figures.compare`. Nothing here imports torch.
"""

from dashapp.tabs.compare.callbacks import (
    download,
    list_files,
    load_comparison,
    pick_checkpoint,
    poll_job,
    show_comparison,
    show_grid,
    show_networks,
    show_report,
    start_analysis,
    update_folders,
)
from dashapp.tabs.compare.view import POLL, TAB_ID, TAB_LABEL, layout

__all__ = [
    "POLL",
    "TAB_ID",
    "TAB_LABEL",
    "download",
    "layout",
    "list_files",
    "load_comparison",
    "pick_checkpoint",
    "poll_job",
    "show_comparison",
    "show_grid",
    "show_networks",
    "show_report",
    "start_analysis",
    "update_folders",
]
