"""Web front ends shipped with the engine: ``pos/`` is the reference till (static files, served at ``/pos/``)."""
