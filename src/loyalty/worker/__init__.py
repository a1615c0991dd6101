"""Background work: webhook delivery from the outbox, and housekeeping."""
