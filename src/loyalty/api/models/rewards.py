"""Rewards, discounts and reward categories on the wire (after WLL's RewardDefinition, RewardPatch,
DiscountDefinition, DiscountPatch and CategoryDefinition)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, StrictBool, StrictFloat, StrictInt, StringConstraints, model_validator

from loyalty.api.models.common import JsonObject, RequestModel, ResponseModel, Timestamp
from loyalty.domain.reward_definitions import MAX_MINOR_UNITS
from loyalty.domain.rewards import CodeType, Discount
from loyalty.services.categories import Category
from loyalty.services.rewards import DiscountDraft, RewardDraft, RewardView

Locale = Literal["en", "fr", "de", "it", "es", "nl", "ar", "tr"]
Url = Annotated[str, StringConstraints(max_length=2048, pattern=r"^https?://")]
Name = Annotated[str, StringConstraints(min_length=2, max_length=200)]
Description = Annotated[str, StringConstraints(min_length=2, max_length=10000)]
Summary = Annotated[str, StringConstraints(max_length=1024)]
Points = Annotated[StrictInt, Field(ge=0, le=10_000_000)]
MinorUnits = Annotated[StrictInt, Field(ge=0, le=MAX_MINOR_UNITS)]
Count = Annotated[StrictInt, Field(ge=0, le=2**63 - 1)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
RewardTypeName = Annotated[
    str,
    StringConstraints(max_length=32),
    Field(json_schema_extra={"enum": ["VOUCHER", "GENERIC_OFFER"]}),
]
CodeTypeName = Literal["OTP", "POOL", "STATIC", "HUMAN"]
Channel = Literal["IN_STORE", "ONLINE"]
StackingName = Literal["STACKABLE", "EXCLUSIVE"]
Moment = Annotated[str, StringConstraints(min_length=10, max_length=64)]


class Reference(RequestModel):
    """WLL's `Hydratable`: another object named by its id."""

    id: uuid.UUID


class Availability(RequestModel):
    start: Moment = Field(description="A date (`2025-06-01`, midnight UTC) or an ISO 8601 date-time.")
    end: Moment | None = Field(default=None, description="After `start`; null = open-ended.")


class RewardDetails(RequestModel):
    """One locale's texts (WLL's `BaseRewardDetails`)."""

    unsupported: ClassVar[frozenset[str]] = frozenset({"logoUrl"})

    locale: Locale | None = Field(default=None, description="When given, the same as the key it is filed under.")
    name: Name | None = None
    description: Description | None = None
    summary: Summary | None = None
    terms: Annotated[str, StringConstraints(max_length=25000)] | None = None
    picture_url: Url | None = None
    redemption_message: Annotated[str, StringConstraints(max_length=10000)] | None = None


Details = dict[Locale, RewardDetails]

# Fields of WLL's RewardDefinition that belong to partner integrations or features this engine does not have.
# `terms` and `redemptionMessage` live in `details` here.
_WLL_REWARD_EXTRAS = frozenset(
    {
        "visibilityCriteriaDefinition",
        "notificationConfig",
        "clickThroughUrl",
        "logoUrl",
        "country",
        "displayUrl",
        "brandName",
        "fidelBrandId",
        "fidelOfferId",
        "schemes",
        "returnPeriod",
        "qualifiedTransactionsLimit",
        "codes",
        "dynamicUrl",
        "productCode",
        "denomination",
        "margin",
        "productId",
        "terms",
        "redemptionMessage",
    }
)


def _check_detail_locales(details: Details | None) -> None:
    for key, texts in (details or {}).items():
        if texts.locale is not None and texts.locale != key:
            raise ValueError(f"details.{key}.locale must be {key!r}")


class _RewardFields(RequestModel):
    summary: Summary | None = None
    description: Description | None = None
    picture_url: Url | None = None
    value: MinorUnits | None = Field(default=None, description="What the reward costs the business, minor units.")
    currency: Currency | None = None
    category: Reference | None = None
    tier: Reference | None = Field(default=None, description="Only members in this tier or a higher one.")
    code: JsonObject | None = Field(
        default=None,
        description='STATIC: `{"value": "SUMMER5"}` (required, unique in the program); '
        'OTP: `{"format": "PROMO-{code}"}` (optional).',
    )
    code_pool: Reference | None = Field(default=None, description="The pool a POOL reward takes its codes from.")
    purchase_expiration: Annotated[StrictInt, Field(ge=1, le=2**31 - 1)] | None = Field(
        default=None, description="Seconds a purchased benefit stays valid."
    )
    stock_capacity: Count | None = Field(default=None, description="How many can be handed out; null = unlimited.")
    min_transaction_amount: MinorUnits | None = Field(default=None, description="Basket threshold, minor units.")
    max_transaction_amount: MinorUnits | None = Field(default=None, description="Basket cap, minor units.")

    def draft_fields(self) -> dict[str, Any]:
        """The fields that were sent, as the service's draft names them (references become ids)."""
        sent = self.model_fields_set
        converted: dict[str, Any] = {}
        renamed = {"category": "category_id", "tier": "tier_id", "code_pool": "code_pool_id"}
        for name in sent:
            value = getattr(self, name)
            if name in renamed:
                converted[renamed[name]] = value.id if value is not None else None
            elif name in ("venues", "purchasable_for_audiences", "visible_to_audiences"):
                converted["venue_ids" if name == "venues" else name] = [ref.id for ref in value]
            elif name == "availability":
                # An explicit null (allowed on create) means what leaving it out means: from now on, open-ended.
                converted[name] = value.model_dump() if value is not None else None
            elif name == "details":
                converted[name] = {
                    locale: {"locale": locale, **texts.model_dump(by_alias=True, exclude_none=True)}
                    for locale, texts in value.items()
                }
            else:
                converted[name] = value
        return converted


class RewardDefinition(_RewardFields):
    unsupported: ClassVar[frozenset[str]] = _WLL_REWARD_EXTRAS

    type: RewardTypeName
    name: Name
    price: Points = Field(description="Points a member pays (0 = free).")
    purchasable: StrictBool
    availability: Availability | None = Field(default=None, description="Default: from now on, open-ended.")
    priority: Annotated[StrictInt, Field(ge=0, le=2**31 - 1)] = 0
    venues: list[Reference] = Field(default_factory=list)
    redemption_channels: list[Channel] = Field(default_factory=list)
    purchasable_for_audiences: list[Reference] = Field(default_factory=list)
    visible_to_audiences: list[Reference] = Field(
        default_factory=list, description="If not empty, only members of one of these audiences see the reward."
    )
    reactor_only: StrictBool = Field(default=False, description="Hidden; only given by reactors.")
    code_type: CodeTypeName = "HUMAN"
    hide_code: StrictBool = False
    redeem_on_purchase: StrictBool = Field(default=False, description="One-step vouchers: purchase also redeems.")
    stacking: StackingName = "STACKABLE"
    details: Details = Field(default_factory=dict)
    default_locale: Locale = "en"

    @model_validator(mode="after")
    def _locales_match(self) -> RewardDefinition:
        _check_detail_locales(self.details)
        return self

    def draft(self) -> RewardDraft:
        return RewardDraft(**self.draft_fields())


# Fields that may be absent from a patch but never null: they always have a value.
_NOT_NULLABLE = frozenset(
    {
        "type",
        "name",
        "price",
        "purchasable",
        "availability",
        "priority",
        "venues",
        "redemption_channels",
        "purchasable_for_audiences",
        "visible_to_audiences",
        "reactor_only",
        "code_type",
        "hide_code",
        "redeem_on_purchase",
        "stacking",
        "details",
        "default_locale",
    }
)


class RewardPatch(_RewardFields):
    """The fields to change; null clears an optional field. `type`, `codeType` and `codePool` cannot change."""

    unsupported: ClassVar[frozenset[str]] = _WLL_REWARD_EXTRAS | {"visibilityCriteriaPatch"}

    type: RewardTypeName | None = None
    name: Name | None = None
    price: Points | None = None
    purchasable: StrictBool | None = None
    availability: Availability | None = None
    priority: Annotated[StrictInt, Field(ge=0, le=2**31 - 1)] | None = None
    venues: list[Reference] | None = None
    redemption_channels: list[Channel] | None = None
    purchasable_for_audiences: list[Reference] | None = None
    visible_to_audiences: list[Reference] | None = None
    reactor_only: StrictBool | None = None
    code_type: CodeTypeName | None = None
    hide_code: StrictBool | None = None
    redeem_on_purchase: StrictBool | None = None
    stacking: StackingName | None = None
    details: Details | None = None
    default_locale: Locale | None = None

    @model_validator(mode="after")
    def _required_values_stay_set(self) -> RewardPatch:
        cleared = sorted(name for name in self.model_fields_set & _NOT_NULLABLE if getattr(self, name) is None)
        if cleared:
            raise ValueError(f"cannot be null: {', '.join(cleared)}")
        _check_detail_locales(self.details)
        return self

    def draft(self) -> RewardDraft:
        return RewardDraft(**self.draft_fields())


# ---- discounts ----

DiscountValue = StrictInt | StrictFloat | Annotated[str, StringConstraints(min_length=1, max_length=32)]
Skus = Annotated[str, StringConstraints(max_length=1024)]


class DiscountDefinition(RequestModel):
    type: Literal["ABSOLUTE", "PERCENTAGE", "FIXED"]
    value: DiscountValue = Field(
        description="ABSOLUTE: minor units off (> 0); PERCENTAGE: percent, 0 < v ≤ 100, decimals allowed; "
        "FIXED: the new price in minor units (≥ 0)."
    )
    product_sku: Skus | None = Field(default=None, description="Target SKUs, comma-separated; null = whole basket.")
    sku: Annotated[str, StringConstraints(max_length=256)] | None = Field(
        default=None, description="A POS SKU to add to the basket so the discount can apply to it."
    )
    venues: list[Reference] = Field(default_factory=list, description="If not empty, only at these venues.")

    def draft(self) -> DiscountDraft:
        return DiscountDraft(
            type=self.type,
            value=self.value,
            product_sku=self.product_sku,
            sku=self.sku,
            venue_ids=[ref.id for ref in self.venues],
        )


class DiscountPatch(RequestModel):
    unsupported: ClassVar[frozenset[str]] = frozenset({"reward"})

    type: Literal["ABSOLUTE", "PERCENTAGE", "FIXED"] | None = None
    value: DiscountValue | None = None
    product_sku: Skus | None = None
    sku: Annotated[str, StringConstraints(max_length=256)] | None = None
    venues: list[Reference] | None = None

    @model_validator(mode="after")
    def _required_values_stay_set(self) -> DiscountPatch:
        cleared = sorted(n for n in self.model_fields_set & {"type", "value", "venues"} if getattr(self, n) is None)
        if cleared:
            raise ValueError(f"cannot be null: {', '.join(cleared)}")
        return self

    def draft(self) -> DiscountDraft:
        fields: dict[str, Any] = {name: getattr(self, name) for name in self.model_fields_set}
        if "venues" in fields:
            fields["venue_ids"] = [ref.id for ref in fields.pop("venues")]
        return DiscountDraft(**fields)


class ReferenceOut(ResponseModel):
    id: str


def json_number(value: Decimal) -> int | float:
    """A discount value as a JSON number: an integer when whole, else the decimal as written (at most six
    decimal places, which a JSON number carries exactly)."""
    return int(value) if value == value.to_integral_value() else float(value)


class DiscountOut(ResponseModel):
    id: str
    reward_id: str
    type: str = Field(description="ABSOLUTE, PERCENTAGE or FIXED.")
    value: int | float
    product_sku: str | None
    sku: str | None
    venues: list[ReferenceOut]
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def of(cls, discount: Discount) -> DiscountOut:
        return cls(
            id=str(discount.discount_id),
            reward_id=str(discount.reward_id),
            type=discount.type.value,
            value=json_number(discount.value),
            product_sku=discount.product_sku,
            sku=discount.sku,
            venues=[ReferenceOut(id=str(v)) for v in discount.venue_ids],
            created_at=discount.created_at,
            updated_at=discount.updated_at,
        )


# ---- rewards ----


class CategoryRefOut(ResponseModel):
    id: str
    name: str


class TierRefOut(ResponseModel):
    id: str
    name: str
    priority: int


class AvailabilityOut(ResponseModel):
    start: Timestamp
    end: Timestamp | None


class RewardOut(ResponseModel):
    id: str
    type: str
    name: str
    summary: str | None
    description: str | None
    picture_url: str | None
    price: int
    value: int | None
    currency: str | None
    availability: AvailabilityOut
    purchasable: bool
    priority: int
    category: CategoryRefOut | None
    tier: TierRefOut | None
    venues: list[ReferenceOut]
    redemption_channels: list[str]
    purchasable_for_audiences: list[ReferenceOut]
    visible_to_audiences: list[ReferenceOut]
    reactor_only: bool
    code_type: str
    code: dict[str, Any] | None = Field(description="A STATIC reward's code value is shown to admins only.")
    code_pool: ReferenceOut | None
    hide_code: bool
    purchase_expiration: int | None
    stock_capacity: int | None
    stock_consumed: int
    redeem_on_purchase: bool
    min_transaction_amount: int | None
    max_transaction_amount: int | None
    stacking: str
    details: dict[str, Any]
    default_locale: str
    discounts: list[DiscountOut]
    purchasable_now: bool | None = Field(
        default=None, description="For the member the rewards are listed for; null when no member is named."
    )
    reason: str | None = Field(
        default=None,
        description="Why not purchasable now: NOT_PURCHASABLE, OUT_OF_STOCK, NOT_IN_AUDIENCE, INSUFFICIENT_POINTS, "
        "TIER_REQUIRED, NOT_AVAILABLE.",
    )
    created_at: Timestamp
    updated_at: Timestamp
    archived_at: Timestamp | None

    @classmethod
    def of(cls, view: RewardView, *, show_static_code: bool) -> RewardOut:
        reward = view.reward
        code = reward.code
        if reward.code_type is CodeType.STATIC and not show_static_code:
            code = None  # the static code is the voucher itself: it is revealed by a benefit, not the catalogue
        return cls(
            id=str(reward.reward_id),
            type=reward.type.value,
            name=reward.name,
            summary=reward.summary,
            description=reward.description,
            picture_url=reward.picture_url,
            price=reward.price,
            value=reward.value,
            currency=reward.currency,
            availability=AvailabilityOut(start=reward.available_from, end=reward.available_until),
            purchasable=reward.purchasable,
            priority=reward.priority,
            category=CategoryRefOut(id=str(view.category.category_id), name=view.category.name)
            if view.category
            else None,
            tier=TierRefOut(id=str(view.tier.tier_id), name=view.tier.name, priority=view.tier.priority)
            if view.tier
            else None,
            venues=[ReferenceOut(id=str(v)) for v in reward.venue_ids],
            redemption_channels=list(reward.redemption_channels),
            purchasable_for_audiences=[ReferenceOut(id=str(a)) for a in reward.purchasable_for_audiences],
            visible_to_audiences=[ReferenceOut(id=str(a)) for a in reward.visible_to_audiences],
            reactor_only=reward.reactor_only,
            code_type=reward.code_type.value,
            code=code,
            code_pool=ReferenceOut(id=str(reward.code_pool_id)) if reward.code_pool_id else None,
            hide_code=reward.hide_code,
            purchase_expiration=reward.purchase_expiration,
            stock_capacity=reward.stock_capacity,
            stock_consumed=reward.stock_consumed,
            redeem_on_purchase=reward.redeem_on_purchase,
            min_transaction_amount=reward.min_transaction_amount,
            max_transaction_amount=reward.max_transaction_amount,
            stacking=reward.stacking.value,
            details=reward.details,
            default_locale=reward.default_locale,
            discounts=[DiscountOut.of(d) for d in reward.discounts],
            purchasable_now=view.eligibility.purchasable_now if view.eligibility else None,
            reason=view.eligibility.reason.value if view.eligibility and view.eligibility.reason else None,
            created_at=reward.created_at,
            updated_at=reward.updated_at,
            archived_at=reward.archived_at,
        )


# ---- categories ----

_WLL_CATEGORY_EXTRAS = frozenset({"priority", "pictureUrl", "parent", "defaultLocale", "details"})


class CategoryDefinition(RequestModel):
    unsupported: ClassVar[frozenset[str]] = _WLL_CATEGORY_EXTRAS

    name: Annotated[str, StringConstraints(min_length=2, max_length=64)]
    description: Annotated[str, StringConstraints(min_length=2, max_length=1024)] | None = None


class CategoryOut(ResponseModel):
    id: str
    name: str
    description: str | None
    created_at: Timestamp

    @classmethod
    def of(cls, category: Category) -> CategoryOut:
        return cls(
            id=str(category.category_id),
            name=category.name,
            description=category.description,
            created_at=category.created_at,
        )
