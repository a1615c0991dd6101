"""Who may see a reward, and who may buy it now.

Pure rules: the caller reads the member's standing (tier priority, audiences, balance) and the reward tier's
priority, and passes the moment in. Visibility decides what ``GET /rewards`` shows a member (and so which offers a
till applies); purchasability is what ``purchase_reward`` checks.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from loyalty.domain.rewards import Reward, RewardType


class Reason(StrEnum):
    """Why a reward is not purchasable now. The first three also explain why it is not visible."""

    NOT_AVAILABLE = "NOT_AVAILABLE"  # archived, outside its availability window, or given only by reactors
    TIER_REQUIRED = "TIER_REQUIRED"  # the member is below the reward's tier
    NOT_IN_AUDIENCE = "NOT_IN_AUDIENCE"  # not in any of visibleToAudiences, or of purchasableForAudiences
    NOT_PURCHASABLE = "NOT_PURCHASABLE"  # purchasable is false, or the reward is an offer (offers are not bought)
    OUT_OF_STOCK = "OUT_OF_STOCK"
    INSUFFICIENT_POINTS = "INSUFFICIENT_POINTS"


@dataclass(frozen=True)
class Standing:
    """What the rules need to know about a member."""

    tier_priority: int | None  # None: the member has no tier
    audience_ids: frozenset[uuid.UUID]
    balance: int


@dataclass(frozen=True)
class Eligibility:
    visible: bool
    purchasable_now: bool
    reason: Reason | None  # None exactly when purchasable_now, or when there is no member to buy it


def _hidden_because(
    reward: Reward, standing: Standing | None, required_tier_priority: int | None, now: datetime
) -> Reason | None:
    if not reward.is_available(now) or reward.reactor_only:
        return Reason.NOT_AVAILABLE
    if reward.tier_id is not None:
        member_priority = standing.tier_priority if standing is not None else None
        # A tier that can no longer be read (required_tier_priority None) admits no one rather than everyone.
        if member_priority is None or required_tier_priority is None or member_priority < required_tier_priority:
            return Reason.TIER_REQUIRED
    if reward.visible_to_audiences:
        audiences = standing.audience_ids if standing is not None else frozenset()
        if audiences.isdisjoint(reward.visible_to_audiences):
            return Reason.NOT_IN_AUDIENCE
    return None


def _not_purchasable_because(reward: Reward, standing: Standing) -> Reason | None:
    if not reward.purchasable or reward.type is not RewardType.VOUCHER:
        return Reason.NOT_PURCHASABLE
    if reward.stock_capacity is not None and reward.stock_consumed >= reward.stock_capacity:
        return Reason.OUT_OF_STOCK
    if reward.purchasable_for_audiences and standing.audience_ids.isdisjoint(reward.purchasable_for_audiences):
        return Reason.NOT_IN_AUDIENCE
    if standing.balance < reward.price:
        return Reason.INSUFFICIENT_POINTS
    return None


def is_visible(reward: Reward, standing: Standing | None, *, required_tier_priority: int | None, now: datetime) -> bool:
    """Whether the reward shows to this member (``None``: to anyone, the public catalogue) at ``now``."""
    return _hidden_because(reward, standing, required_tier_priority, now) is None


def evaluate(
    reward: Reward, standing: Standing | None, *, required_tier_priority: int | None, now: datetime
) -> Eligibility:
    """Visibility and purchasability together, with the first reason that stops a purchase.

    Checks run in a fixed order — availability, tier, visibility audiences, then purchasable, stock, purchase
    audiences, points — so the reason is stable. Without a member nothing is purchasable, and there is no reason.
    """
    hidden = _hidden_because(reward, standing, required_tier_priority, now)
    if hidden is not None:
        return Eligibility(visible=False, purchasable_now=False, reason=hidden)
    if standing is None:
        return Eligibility(visible=True, purchasable_now=False, reason=None)
    refused = _not_purchasable_because(reward, standing)
    return Eligibility(visible=True, purchasable_now=refused is None, reason=refused)
