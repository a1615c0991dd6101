"""Use cases: one function per command or query. Every state change in the engine happens here.

Each function takes an open unit of work (``tx``) as its first argument. The caller — an HTTP route, the CLI or
the worker — opens it with :meth:`loyalty.storage.database.Database.run`, so that an idempotency claim, the effect
and the stored response share one transaction, and a retry after a conflict re-runs all of it.
"""
