"""The dashboard: the Dash app and its tabs, the read side of the store, pure figure builders, and the
``neurodash`` command line."""
