"""The dashboard on the wire: every number an integer (points, counts, money in minor units)."""

from __future__ import annotations

from pydantic import Field

from loyalty.api.models.common import ResponseModel, Timestamp
from loyalty.domain.dashboard import Bucket
from loyalty.domain.lots import Period
from loyalty.services.dashboard import Dashboard


class MemberCounts(ResponseModel):
    total: int = Field(description="Open accounts at the end.")
    new: int = Field(description="Accounts opened.")
    closed: int = Field(description="Accounts closed.")


class PointCounts(ResponseModel):
    issued: int = Field(description="Points credited: spendable earns, pending points activated, credit adjustments.")
    spent: int = Field(description="SPEND entries: rewards bought, points spent at checkout, negative reactions.")
    expired: int = Field(description="EXPIRE entries.")
    debited: int = Field(description="Debit adjustments.")
    reversed: int = Field(description="Earned points taken back from balances by refunds and voids.")
    returned: int = Field(description="Spent points given back by refunds and voids.")
    outstanding: int = Field(description="Points held at the end: the sum of every balance.")
    pending: int = Field(description="Pending points held at the end.")


class BenefitCounts(ResponseModel):
    issued: int = Field(description="Benefits (vouchers and offers) issued: bought, given or made by reactions.")
    burned: int = Field(description="Benefits burned.")


class MoneyCounts(ResponseModel):
    count: int
    value: int = Field(description="Minor units of the base currency.")


class Metrics(ResponseModel):
    members: MemberCounts
    points: PointCounts
    benefits: BenefitCounts
    orders: MoneyCounts = Field(description="Orders by the time of sale (`occurredAt`); value: their totals.")
    refunds: MoneyCounts = Field(description="Refunds (and voids) by the time they were made; value: refunded.")

    @classmethod
    def of(cls, bucket: Bucket) -> Metrics:
        flows, closing = bucket.flows, bucket.closing
        return cls(
            members=MemberCounts(total=closing.members, new=flows.new_members, closed=flows.closed_members),
            points=PointCounts(
                issued=flows.points_issued,
                spent=flows.points_spent,
                expired=flows.points_expired,
                debited=flows.points_debited,
                reversed=flows.points_reversed,
                returned=flows.points_returned,
                outstanding=closing.points,
                pending=closing.pending,
            ),
            benefits=BenefitCounts(issued=flows.benefits_issued, burned=flows.benefits_burned),
            orders=MoneyCounts(count=flows.orders, value=flows.order_value),
            refunds=MoneyCounts(count=flows.refunds, value=flows.refund_value),
        )


class BucketOut(Metrics):
    starts_at: Timestamp
    ends_at: Timestamp

    @classmethod
    def of_bucket(cls, bucket: Bucket) -> BucketOut:
        metrics = Metrics.of(bucket)
        return cls(
            starts_at=bucket.starts_at,
            ends_at=bucket.ends_at,
            members=metrics.members,
            points=metrics.points,
            benefits=metrics.benefits,
            orders=metrics.orders,
            refunds=metrics.refunds,
        )


class DashboardPeriodOut(ResponseModel):
    starts_at: Timestamp
    ends_at: Timestamp
    interval: Period
    time_zone: str = Field(description="The tenant's time zone, in which buckets are cut.")
    currency: str = Field(description="The base currency of the money values.")


class DashboardOut(ResponseModel):
    period: DashboardPeriodOut
    totals: Metrics = Field(description="The whole period: flows summed, stocks (totals, outstanding) at its end.")
    buckets: list[BucketOut] = Field(description="Calendar buckets, oldest first; the first and last are clipped.")

    @classmethod
    def of(cls, found: Dashboard) -> DashboardOut:
        totals = found.totals
        return cls(
            period=DashboardPeriodOut(
                starts_at=totals.starts_at,
                ends_at=totals.ends_at,
                interval=found.interval,
                time_zone=found.timezone,
                currency=found.currency,
            ),
            totals=Metrics.of(totals),
            buckets=[BucketOut.of_bucket(b) for b in found.buckets],
        )
