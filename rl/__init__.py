"""The training side: environments, agents (one interface, one loop), the worker and its callbacks, the probe,
the telemetry records and the store they go to."""
