"""Routes: parse, call one service function, serialise. No SQL and no business rules here."""
