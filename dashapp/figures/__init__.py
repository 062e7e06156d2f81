"""Pure figure builders: plain or typed data in, ``go.Figure`` (or plain data for a component) out; no I/O."""
