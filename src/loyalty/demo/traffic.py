"""A day of tills, compressed: concurrent tills identify members, price baskets and check out (with offers,
vouchers and points), now and then refund a sale, all through the Python client. The summary gives what the
program did and how fast the engine answered."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from loyalty.client import AsyncLoyaltyClient, LoyaltyError

CATALOGUE = (
    ("COFFEE-R", "HOT-DRINKS", 280),
    ("LATTE-M", "HOT-DRINKS", 350),
    ("FLAT-WHITE", "HOT-DRINKS", 330),
    ("CROISSANT", "BAKERY", 250),
    ("BANANA-BREAD", "BAKERY", 295),
    ("CLUB-SANDWICH", "FOOD", 595),
    ("SALAD-BOX", "FOOD", 725),
    ("BEANS-1KG", "RETAIL", 1895),
)


@dataclass
class Summary:
    sales: int = 0
    refunds: int = 0
    points_earned: int = 0
    points_spent: int = 0
    vouchers_burned: int = 0
    refused: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    latencies: dict[str, list[float]] = field(default_factory=dict)

    def timed(self, operation: str, seconds: float) -> None:
        self.latencies.setdefault(operation, []).append(seconds)

    def percentiles(self) -> dict[str, dict[str, float]]:
        """Per operation: count, p50, p95 and p99 in milliseconds."""
        report: dict[str, dict[str, float]] = {}
        for operation, samples in sorted(self.latencies.items()):
            ordered = sorted(samples)

            def at(q: float, ordered: list[float] = ordered) -> float:
                return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

            report[operation] = {"count": len(ordered), "p50": at(0.5), "p95": at(0.95), "p99": at(0.99)}
        return report


def _basket(rng: random.Random) -> list[dict[str, Any]]:
    chosen = rng.sample(CATALOGUE, rng.randint(1, 4))
    return [
        {"sku": sku, "category": category, "quantity": rng.choice((1, 1, 1, 2, 3)), "unitPrice": price}
        for sku, category, price in chosen
    ]


async def _timed(summary: Summary, operation: str, work: Any) -> Any:
    started = time.perf_counter()
    try:
        return await work
    finally:
        summary.timed(operation, time.perf_counter() - started)


async def _sale(till: AsyncLoyaltyClient, members: list[str], venue: str, rng: random.Random, summary: Summary) -> None:
    member = rng.choice(members) if rng.random() < 0.85 else None
    body: dict[str, Any] = {"currency": "GBP", "venue": venue, "lineItems": _basket(rng)}
    if member is not None:
        body["user"] = member
        wallet = await _timed(summary, "wallet", till.wallet(member))
        await _timed(summary, "offers", till.offers(member))
        if wallet.points >= 200 and rng.random() < 0.3:
            body["pointsToSpend"] = 100
        unused = [v for v in wallet.vouchers if v.burned_at is None and v.status in ("CREATED", "REDEEMED")]
        if unused and rng.random() < 0.5:
            voucher = unused[0]
            if voucher.code is None or voucher.code.value is None:  # not redeemed yet: the code is not shown
                voucher = await _timed(summary, "redeem", till.redeem(voucher.id))
            if voucher.code is not None and voucher.code.value is not None:
                body["voucherCodes"] = [voucher.code.value]
    quote = await _timed(summary, "price", till.price(body))
    if quote.totals.total == 0 and body.get("pointsToSpend"):
        body.pop("pointsToSpend")
    body["externalId"] = f"DEMO-{uuid.uuid4().hex[:12]}"
    body["payments"] = [{"type": "CARD", "amount": quote.totals.total}]
    receipt = await _timed(summary, "checkout", till.checkout(body))
    summary.sales += 1
    summary.points_earned += receipt.points_earned
    summary.points_spent += receipt.points_spent
    summary.vouchers_burned += len(body.get("voucherCodes", []))
    if rng.random() < 0.03:
        await _timed(summary, "refund", till.refund(receipt.id, f"R-{receipt.external_id}"))
        summary.refunds += 1


async def run(
    tills: list[AsyncLoyaltyClient],
    members: list[str],
    venue: str,
    seconds: float,
    *,
    seed: int = 372,
    on_sale: Callable[[], None] | None = None,
) -> Summary:
    """Every till sells until ``seconds`` have passed; answers the summary of the whole run."""
    summary = Summary()
    deadline = time.monotonic() + seconds

    async def till_loop(till: AsyncLoyaltyClient, rng: random.Random) -> None:
        while time.monotonic() < deadline:
            try:
                await _sale(till, members, venue, rng, summary)
            except LoyaltyError as error:
                summary.refused += 1
                summary.failures[error.code] = summary.failures.get(error.code, 0) + 1
            if on_sale is not None:
                on_sale()

    # A seeded generator on purpose: the same run can be replayed; nothing here is a secret.
    rngs = [random.Random(seed + n) for n in range(len(tills))]  # noqa: S311
    await asyncio.gather(*(till_loop(till, rng) for till, rng in zip(tills, rngs, strict=True)))
    return summary
