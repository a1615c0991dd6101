"""``loyalty demo`` builds the demo program through the API, and ``loyalty demo traffic`` runs tills against it
through the Python client; the ledger stays exact throughout."""

from __future__ import annotations

import json

import pytest

from loyalty.storage.database import Database
from tests.processes import loyalty_cli

pytestmark = pytest.mark.e2e


async def test_the_demo_program_and_a_burst_of_tills(fresh_database_url: str):
    code, output = await loyalty_cli(fresh_database_url, "demo", "--json")
    assert code == 0, output
    demo = json.loads(output)
    assert len(demo["members"]) == 5
    assert set(demo["rewards"]) == {"fiveOff", "freeCoffee", "staff"}

    db = Database(fresh_database_url)
    try:
        from sqlalchemy import func, select

        from loyalty.storage.tables import event_types, reactors, rewards, tiers

        async def counts(tx: object) -> list[int]:
            found = []
            for table in (event_types, reactors, rewards, tiers):
                query = select(func.count()).select_from(table)
                found.append(int((await tx.execute(query)).scalar_one()))  # type: ignore[attr-defined]
            return found

        assert await db.run(counts, write=False) == [2, 6, 3, 3]
    finally:
        await db.dispose()

    args = ("demo", "traffic", "--api-key", demo["apiKey"], "--minutes", "0.1", "--tills", "2", "--json")
    code, output = await loyalty_cli(fresh_database_url, *args)
    assert code == 0, output
    summary = json.loads(output)
    assert summary["sales"] > 5
    assert summary["pointsEarned"] > 0
    # Tills racing for one member's voucher or points are refused with the API's business codes (a voucher another
    # till used first, one whose discount does not fit the basket): never a server error or a lost connection.
    assert not set(summary["failures"]) & {"HTTP_ERROR", "UNREACHABLE", "OVERLOADED", "RATE_LIMITED"}
    assert summary["refused"] <= summary["sales"]
    # Every sale was a checkout; a checkout refused (a voucher another till used first) is timed but is no sale.
    assert summary["latencyMs"]["checkout"]["count"] >= summary["sales"]

    code, output = await loyalty_cli(fresh_database_url, "ledger", "verify", "--json")
    assert code == 0, output
