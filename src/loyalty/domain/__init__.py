"""The rules of the engine: pure Python, no I/O, no clock (time is passed in)."""
