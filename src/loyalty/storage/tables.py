"""Table definitions (SQLAlchemy Core).

Every table carries ``tenant_id`` and it leads every primary key, unique constraint, foreign key and index
(``tests/service/test_schema.py`` walks this metadata to keep it so). That is what lets the schema be
distributed by tenant later without rewriting keys, and it makes forgetting the tenant filter hard.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    false,
    true,
)

from loyalty.storage.types import JsonDocument, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

tenants = Table(
    "tenants",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    Column("name", String(200), nullable=False),
    # SHA-256 of the API key; the key itself is shown once and never stored.
    Column("api_key_hash", String(64), nullable=False),
    # Secret that signs this tenant's client access tokens (HS256).
    Column("token_signing_key", String(128), nullable=False),
    # Signs webhook bodies (X-Signature); shown to admins, who give it to their receivers.
    Column("webhook_secret", String(128), nullable=False),
    # How member (user) tokens from the retailer's identity provider are verified; null = user tokens refused.
    Column("user_auth", JsonDocument, nullable=True),
    # Bumped by every configuration write so compiled rules can be cached per version.
    Column("config_version", BigInteger, nullable=False, server_default="1"),
    Column("created_at", UTCDateTime, nullable=False),
    # The tenant's API rate limit (requests a second, and the burst allowed); null = the engine's default.
    Column("rate_limit_per_second", Integer, nullable=True),
    Column("rate_limit_burst", Integer, nullable=True),
    PrimaryKeyConstraint("tenant_id"),
)

clients = Table(
    "clients",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    Column("client_id", Uuid, nullable=False),
    Column("name", String(200), nullable=False),
    Column("scopes", JsonDocument, nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    PrimaryKeyConstraint("tenant_id", "client_id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
)

members = Table(
    "members",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    Column("member_id", Uuid, nullable=False),
    Column("account_number", String(7), nullable=False),
    Column("auth_identifier", String(512), nullable=True),
    Column("external_identifier", String(512), nullable=True),
    Column("profile", JsonDocument, nullable=False),
    Column("flags", JsonDocument, nullable=False),
    Column("is_restricted", Boolean, nullable=False, server_default=false()),
    # Lower-cased e-mail, names and identifiers, for admin search; emptied when the account is closed.
    Column("search_text", Text, nullable=False, server_default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime, nullable=True),
    PrimaryKeyConstraint("tenant_id", "member_id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
    # Account numbers stay taken after an account is closed, so they are never reused.
    UniqueConstraint("tenant_id", "account_number"),
    UniqueConstraint("tenant_id", "auth_identifier"),
    UniqueConstraint("tenant_id", "external_identifier"),
    Index(None, "tenant_id", "created_at"),
)

point_accounts = Table(
    "point_accounts",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    Column("member_id", Uuid, nullable=False),
    Column("balance", BigInteger, nullable=False, server_default="0"),
    Column("pending", BigInteger, nullable=False, server_default="0"),
    Column("lifetime_earn", BigInteger, nullable=False, server_default="0"),
    Column("version", BigInteger, nullable=False, server_default="0"),
    Column("updated_at", UTCDateTime, nullable=False),
    # The last earn or spend (LAST_ACTIVITY expiry counts inactivity from here); null before the first one.
    Column("last_activity_at", UTCDateTime, nullable=True),
    PrimaryKeyConstraint("tenant_id", "member_id"),
    ForeignKeyConstraint(["tenant_id", "member_id"], ["members.tenant_id", "members.member_id"]),
)

# Append-only: rows are inserted, never updated or deleted (outside migrations).
point_entries = Table(
    "point_entries",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    Column("entry_id", Uuid, nullable=False),
    Column("member_id", Uuid, nullable=False),
    Column("delta", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),
    # EARN / SPEND / NONE: whether the entry counts towards lifetime earn (and, later, caps).
    Column("impact", String(8), nullable=False),
    Column("source_type", String(16), nullable=False),
    Column("source_id", Uuid, nullable=False),
    Column("balance_after", BigInteger, nullable=False),
    # Points an earn cap (or balance cap) took away from this change: the change asked for delta + forfeited.
    Column("forfeited", BigInteger, nullable=False, server_default="0"),
    # The change to the account's pending points (a pending earn, its activation, its cancellation by a refund).
    Column("pending_delta", BigInteger, nullable=False, server_default="0"),
    # The account's version after this entry: orders a member's entries exactly, even within one clock tick.
    Column("sequence", BigInteger, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("comment", Text, nullable=True),
    # Who caused it: the client id or the member's subject, for the audit trail.
    Column("actor", String(200), nullable=True),
    # The reactor whose reaction made this entry, if any.
    Column("reactor_id", Uuid, nullable=True),
    # Tells apart several entries of one kind from one source, e.g. "<reactor id>/<reaction index>"; "" otherwise.
    Column("cause", String(80), nullable=False, server_default=""),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "entry_id"),
    ForeignKeyConstraint(["tenant_id", "member_id"], ["members.tenant_id", "members.member_id"]),
    # One entry of a kind per member per cause: a double earn is impossible even if every other layer failed.
    UniqueConstraint(
        "tenant_id", "source_type", "source_id", "member_id", "kind", "cause", name="uq_point_entries_cause"
    ),
    UniqueConstraint("tenant_id", "member_id", "sequence"),
    Index(None, "tenant_id", "member_id", "created_at"),
)

# A lot is what one credit added: spends take from lots soonest-expiring first (FEFO), expiry empties what is
# left of a lot past its date, and activation turns a pending lot into spendable points. The lots' remainders
# always add up to the account's balance when it is positive (a credit first pays off any debt), and to its
# pending points.
point_lots = Table(
    "point_lots",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    # The ledger entry that created the lot.
    Column("lot_id", Uuid, nullable=False),
    Column("member_id", Uuid, nullable=False),
    # Where the points came from, as on the entry (a refund cancels the pending points of its order's event).
    Column("source_type", String(16), nullable=False),
    Column("source_id", Uuid, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("remaining", BigInteger, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    # Pending until activated: not spendable, counted in the account's pending points.
    Column("pending", Boolean, nullable=False, server_default=false()),
    Column("activates_at", UTCDateTime, nullable=True),
    PrimaryKeyConstraint("tenant_id", "lot_id"),
    ForeignKeyConstraint(["tenant_id", "member_id"], ["members.tenant_id", "members.member_id"]),
    Index(None, "tenant_id", "member_id", "pending", "expires_at"),
    Index(None, "tenant_id", "expires_at"),
    Index(None, "tenant_id", "activates_at"),
)

# Which lots a debit took its points from (spends, debits, expiry, cancelled pending points).
point_allocations = Table(
    "point_allocations",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    Column("entry_id", Uuid, nullable=False),
    Column("lot_id", Uuid, nullable=False),
    Column("points", BigInteger, nullable=False),
    PrimaryKeyConstraint("tenant_id", "entry_id", "lot_id"),
    Index(None, "tenant_id", "lot_id"),
)

events = Table(
    "events",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    Column("event_id", Uuid, nullable=False),
    Column("type", String(64), nullable=False),
    Column("subject_id", Uuid, nullable=True),
    Column("executor", String(200), nullable=True),
    Column("payload", JsonDocument, nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("reported_at", UTCDateTime, nullable=False),
    # The value found at the type's dedupeKeyPath, and whose it is ("" for anonymous events): a second event of
    # the same type, subject and value is a duplicate and runs nothing.
    Column("dedupe_key", String(512), nullable=True),
    Column("dedupe_subject", String(64), nullable=True),
    PrimaryKeyConstraint("tenant_id", "event_id"),
    UniqueConstraint("tenant_id", "type", "dedupe_subject", "dedupe_key"),
    ForeignKeyConstraint(["tenant_id", "subject_id"], ["members.tenant_id", "members.member_id"]),
    Index(None, "tenant_id", "subject_id", "reported_at"),
    Index(None, "tenant_id", "type", "reported_at"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    Column("credential", String(200), nullable=False),
    Column("key", String(255), nullable=False),
    # SHA-256 over method, path and body: a different request under the same key is refused.
    Column("fingerprint", String(64), nullable=False),
    # Filled in the same transaction as the claim, before commit; a committed row always has both.
    Column("status_code", Integer, nullable=True),
    Column("body", LargeBinary, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "credential", "key"),
    Index(None, "tenant_id", "created_at"),
)

event_types = Table(
    "event_types",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    Column("event_type_id", Uuid, nullable=False),
    Column("name", String(64), nullable=False),
    Column("description", String(1024), nullable=True),
    Column("schema", JsonDocument, nullable=False),
    Column("is_private", Boolean, nullable=False),
    Column("is_active", Boolean, nullable=False),
    Column("enhancers", JsonDocument, nullable=False),
    Column("omit_from_user_activity", Boolean, nullable=False),
    Column("dedupe_key_path", String(512), nullable=True),
    # Event secrets are derived from the tenant's signing key and this number; bumping it rotates the secret.
    Column("secret_version", Integer, nullable=False, server_default="1"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "event_type_id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
    UniqueConstraint("tenant_id", "name"),
)

# Each row is one version of a reactor; editing ends a version and adds its successor.
reactors = Table(
    "reactors",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    Column("reactor_id", Uuid, nullable=False),
    Column("name", String(64), nullable=False),
    Column("description", String(1024), nullable=True),
    Column("event_type", String(64), nullable=False),
    Column("constraint", JsonDocument, nullable=True),
    Column("effective_from", UTCDateTime, nullable=False),
    Column("effective_until", UTCDateTime, nullable=True),
    Column("max_activations", BigInteger, nullable=True),
    Column("activation_context", String(16), nullable=True),
    Column("reactions", JsonDocument, nullable=False),
    Column("previous_version_id", Uuid, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "reactor_id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
    Index(None, "tenant_id", "event_type"),
)

# Activation counters: one row per reactor version and context ("" for GLOBAL/TENANT, the member id for SUBJECT).
reactor_activations = Table(
    "reactor_activations",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    Column("reactor_id", Uuid, nullable=False),
    Column("context_key", String(64), nullable=False),
    Column("activations", BigInteger, nullable=False, server_default="0"),
    PrimaryKeyConstraint("tenant_id", "reactor_id", "context_key"),
    ForeignKeyConstraint(["tenant_id", "reactor_id"], ["reactors.tenant_id", "reactors.reactor_id"]),
)

# What each reactor did with an event (the "why" behind every reaction).
event_reactions = Table(
    "event_reactions",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    Column("event_id", Uuid, nullable=False),
    Column("position", Integer, nullable=False),
    Column("reactor_id", Uuid, nullable=False),
    Column("reactor_name", String(64), nullable=False),
    Column("type", String(16), nullable=False),
    Column("status", String(8), nullable=False),
    Column("reason", String(64), nullable=True),
    Column("points", BigInteger, nullable=True),
    Column("detail", JsonDocument, nullable=True),
    PrimaryKeyConstraint("tenant_id", "event_id", "position"),
    ForeignKeyConstraint(["tenant_id", "event_id"], ["events.tenant_id", "events.event_id"]),
)

badges = Table(
    "badges",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    Column("badge_id", Uuid, nullable=False),
    Column("internal_name", String(200), nullable=False),
    Column("internal_description", String(1000), nullable=True),
    Column("details", JsonDocument, nullable=False),
    Column("priority", Integer, nullable=False, server_default="0"),
    Column("status", String(8), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "badge_id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
)

badge_awards = Table(
    "badge_awards",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    Column("award_id", Uuid, nullable=False),
    Column("badge_id", Uuid, nullable=False),
    Column("member_id", Uuid, nullable=False),
    Column("event_id", Uuid, nullable=True),
    Column("comment", String(1000), nullable=True),
    Column("awarded_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "award_id"),
    ForeignKeyConstraint(["tenant_id", "badge_id"], ["badges.tenant_id", "badges.badge_id"]),
    ForeignKeyConstraint(["tenant_id", "member_id"], ["members.tenant_id", "members.member_id"]),
    Index(None, "tenant_id", "member_id", "awarded_at"),
)

# The webhook outbox: written in the event's transaction, delivered by the worker after commit.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    Column("delivery_id", Uuid, nullable=False),
    Column("event_id", Uuid, nullable=False),
    Column("reactor_id", Uuid, nullable=False),
    Column("url", String(2048), nullable=False),
    Column("headers", JsonDocument, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("status", String(10), nullable=False),  # PENDING, DELIVERED, FAILED
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    # A worker holds a message until then; past it, another worker may take it (so a killed worker loses nothing).
    Column("locked_until", UTCDateTime, nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", String(500), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime, nullable=True),
    PrimaryKeyConstraint("tenant_id", "delivery_id"),
    ForeignKeyConstraint(["tenant_id", "event_id"], ["events.tenant_id", "events.event_id"]),
    Index(None, "tenant_id", "status", "next_attempt_at"),
    Index(None, "tenant_id", "created_at"),
)

# ---- rewards, offers and vouchers ----

# Tenant settings (pointsCurrencyValue, timezone, baseCurrency, discountStacking, …): one JSON value per name.
settings = Table(
    "settings",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    Column("name", String(64), nullable=False),
    Column("value", JsonDocument, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "name"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
)

venues = Table(
    "venues",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    Column("venue_id", Uuid, nullable=False),
    Column("name", String(64), nullable=False),
    Column("address", String(512), nullable=True),
    Column("description", String(1024), nullable=True),
    # The store number the POS sends.
    Column("external_identifier", String(512), nullable=True),
    Column("postcode", String(128), nullable=True),
    Column("coordinates", JsonDocument, nullable=True),
    Column("attributes", JsonDocument, nullable=False),
    Column("available_from", UTCDateTime, nullable=True),
    Column("available_until", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("deleted_at", UTCDateTime, nullable=True),
    PrimaryKeyConstraint("tenant_id", "venue_id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
    UniqueConstraint("tenant_id", "external_identifier"),
)

reward_categories = Table(
    "reward_categories",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    Column("category_id", Uuid, nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", String(1024), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "category_id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
)

tiers = Table(
    "tiers",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    Column("tier_id", Uuid, nullable=False),
    Column("name", String(200), nullable=False),
    Column("details", JsonDocument, nullable=False),
    Column("default_locale", String(8), nullable=False),
    Column("points_requirement", BigInteger, nullable=False),
    Column("calculation", String(16), nullable=False),  # LIFETIME_EARN | CALENDAR_PERIOD
    Column("accumulation_period", String(8), nullable=True),  # P1Y | P1M
    Column("priority", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("deleted_at", UTCDateTime, nullable=True),
    PrimaryKeyConstraint("tenant_id", "tier_id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
)

# A member's current tier, kept so a change can be noticed (TIER_CHANGED) and shown without recomputing.
member_tiers = Table(
    "member_tiers",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    Column("member_id", Uuid, nullable=False),
    Column("tier_id", Uuid, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "member_id"),
    ForeignKeyConstraint(["tenant_id", "member_id"], ["members.tenant_id", "members.member_id"]),
)

audiences = Table(
    "audiences",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    Column("audience_id", Uuid, nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", String(1024), nullable=True),
    Column("is_active", Boolean, nullable=False),
    Column("criteria", JsonDocument, nullable=False),
    Column("trigger_frequency", String(16), nullable=False),  # REACTIVE | DAILY | MANUAL
    Column("send_joined_event", Boolean, nullable=False),
    Column("send_left_event", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("deleted_at", UTCDateTime, nullable=True),
    PrimaryKeyConstraint("tenant_id", "audience_id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
)

audience_members = Table(
    "audience_members",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    Column("audience_id", Uuid, nullable=False),
    Column("member_id", Uuid, nullable=False),
    Column("joined_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "audience_id", "member_id"),
    ForeignKeyConstraint(["tenant_id", "audience_id"], ["audiences.tenant_id", "audiences.audience_id"]),
    ForeignKeyConstraint(["tenant_id", "member_id"], ["members.tenant_id", "members.member_id"]),
    Index(None, "tenant_id", "member_id"),
)

rewards = Table(
    "rewards",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    Column("reward_id", Uuid, nullable=False),
    Column("type", String(16), nullable=False),  # VOUCHER | GENERIC_OFFER
    Column("name", String(200), nullable=False),
    Column("summary", String(1024), nullable=True),
    Column("description", Text, nullable=True),
    Column("picture_url", String(2048), nullable=True),
    Column("price", BigInteger, nullable=False),  # points
    Column("value", BigInteger, nullable=True),  # minor units: what the reward costs the business
    Column("currency", String(3), nullable=True),
    Column("available_from", UTCDateTime, nullable=False),
    Column("available_until", UTCDateTime, nullable=True),
    Column("purchasable", Boolean, nullable=False),
    Column("priority", Integer, nullable=False),
    Column("category_id", Uuid, nullable=True),
    Column("tier_id", Uuid, nullable=True),
    Column("venue_ids", JsonDocument, nullable=False),
    Column("redemption_channels", JsonDocument, nullable=False),
    Column("purchasable_for_audiences", JsonDocument, nullable=False),
    Column("visible_to_audiences", JsonDocument, nullable=False),
    Column("reactor_only", Boolean, nullable=False),
    Column("code_type", String(8), nullable=False),  # OTP | POOL | STATIC | HUMAN
    Column("code", JsonDocument, nullable=True),  # {"format": …} for OTP, {"value": …} for STATIC
    Column("code_pool_id", Uuid, nullable=True),
    Column("hide_code", Boolean, nullable=False),
    Column("purchase_expiration", BigInteger, nullable=True),  # seconds
    Column("stock_capacity", BigInteger, nullable=True),
    Column("stock_consumed", BigInteger, nullable=False, server_default="0"),
    Column("redeem_on_purchase", Boolean, nullable=False),
    Column("min_transaction_amount", BigInteger, nullable=True),
    Column("max_transaction_amount", BigInteger, nullable=True),
    Column("stacking", String(12), nullable=False),  # STACKABLE | EXCLUSIVE
    Column("details", JsonDocument, nullable=False),
    Column("default_locale", String(8), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("archived_at", UTCDateTime, nullable=True),
    PrimaryKeyConstraint("tenant_id", "reward_id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
)

reward_discounts = Table(
    "reward_discounts",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    Column("discount_id", Uuid, nullable=False),
    Column("reward_id", Uuid, nullable=False),
    Column("type", String(12), nullable=False),  # ABSOLUTE | PERCENTAGE | FIXED
    # Exact decimal text: minor units for ABSOLUTE and FIXED, percent (decimals allowed) for PERCENTAGE.
    Column("value", String(32), nullable=False),
    Column("product_sku", String(1024), nullable=True),
    Column("sku", String(256), nullable=True),
    Column("venue_ids", JsonDocument, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "discount_id"),
    ForeignKeyConstraint(["tenant_id", "reward_id"], ["rewards.tenant_id", "rewards.reward_id"]),
    Index(None, "tenant_id", "reward_id"),
)

code_pools = Table(
    "code_pools",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    Column("pool_id", Uuid, nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", String(1024), nullable=True),
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "pool_id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
)

# Every code value of a tenant — OTP, pool and static — in one table, so a value is unique across all of them.
voucher_codes = Table(
    "voucher_codes",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    Column("code_id", Uuid, nullable=False),
    Column("value", String(256), nullable=False),
    Column("kind", String(8), nullable=False),  # OTP | POOL | STATIC
    Column("pool_id", Uuid, nullable=True),
    Column("reward_id", Uuid, nullable=True),  # STATIC: the reward the code names
    Column("benefit_id", Uuid, nullable=True),  # OTP and POOL: the benefit that holds it once issued
    Column("created_at", UTCDateTime, nullable=False),
    Column("issued_at", UTCDateTime, nullable=True),
    PrimaryKeyConstraint("tenant_id", "code_id"),
    UniqueConstraint("tenant_id", "value"),
    Index(None, "tenant_id", "pool_id", "issued_at"),
)

# A member's instance of a reward. Its state is in its timestamps; `status` is derived.
benefits = Table(
    "benefits",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    Column("benefit_id", Uuid, nullable=False),
    Column("reward_id", Uuid, nullable=False),
    Column("member_id", Uuid, nullable=False),
    Column("type", String(16), nullable=False),
    Column("code_id", Uuid, nullable=True),
    Column("origin", String(16), nullable=False),  # PURCHASE | GIVEN | REACTION
    Column("points_spent", BigInteger, nullable=False, server_default="0"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("redeemed_at", UTCDateTime, nullable=True),
    Column("code_validated_at", UTCDateTime, nullable=True),
    Column("burned_at", UTCDateTime, nullable=True),
    Column("burned_venue_id", Uuid, nullable=True),
    Column("burned_by", String(200), nullable=True),
    # The order whose sale used the burn (a checkout's own burn, or a voucher an order reported as applied): only
    # that order's refund or void may give the voucher back. NULL for a burn no order claimed.
    Column("burn_order_id", Uuid, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "benefit_id"),
    ForeignKeyConstraint(["tenant_id", "reward_id"], ["rewards.tenant_id", "rewards.reward_id"]),
    ForeignKeyConstraint(["tenant_id", "member_id"], ["members.tenant_id", "members.member_id"]),
    Index(None, "tenant_id", "member_id", "created_at"),
)

# Who did what to a voucher outside the normal flow (unburns), for the audit trail.
benefit_audit = Table(
    "benefit_audit",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    Column("audit_id", Uuid, nullable=False),
    Column("benefit_id", Uuid, nullable=False),
    Column("action", String(32), nullable=False),
    Column("reason", String(1000), nullable=True),
    Column("actor", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "audit_id"),
    ForeignKeyConstraint(["tenant_id", "benefit_id"], ["benefits.tenant_id", "benefits.benefit_id"]),
)

# ---- orders and refunds ----

# A sale reported by a till (or placed by a checkout). Money in minor units of `currency`; the running refund
# totals and the points moved so far are kept on the row, so each refund reverses exactly its share.
orders = Table(
    "orders",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    Column("order_id", Uuid, nullable=False),
    # The till's transaction id: one order per value in a tenant (a retried POST is answered with the stored one).
    Column("external_id", String(255), nullable=False),
    # SHA-256 of the normalised order as reported: a retry with another body under the same externalId is refused.
    Column("fingerprint", String(64), nullable=False),
    Column("member_id", Uuid, nullable=True),  # null: a non-member sale
    Column("venue_id", Uuid, nullable=True),
    Column("channel", String(16), nullable=False),  # IN_STORE | ONLINE
    Column("status", String(20), nullable=False),  # PLACED | PARTIALLY_REFUNDED | REFUNDED
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("subtotal", BigInteger, nullable=False),
    Column("discount", BigInteger, nullable=False),
    Column("tax", BigInteger, nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("applied_discounts", JsonDocument, nullable=False),
    Column("payments", JsonDocument, nullable=False),
    Column("order_metadata", JsonDocument, nullable=False),
    # The ORDER_PLACED event (member sales only) and the points it earned the member.
    Column("event_id", Uuid, nullable=True),
    Column("points_earned", BigInteger, nullable=False, server_default="0"),
    # Written by a checkout: points spent on the order, what they were worth, the vouchers it burned.
    Column("points_spent", BigInteger, nullable=False, server_default="0"),
    Column("points_spent_value", BigInteger, nullable=False, server_default="0"),
    Column("burned_benefit_ids", JsonDocument, nullable=False),
    Column("checkout", Boolean, nullable=False, server_default=false()),
    Column("voided_at", UTCDateTime, nullable=True),
    # Running totals of the refunds so far.
    Column("refunded_value", BigInteger, nullable=False, server_default="0"),
    Column("refunded_gross", BigInteger, nullable=False, server_default="0"),
    Column("points_reversed", BigInteger, nullable=False, server_default="0"),
    Column("points_returned", BigInteger, nullable=False, server_default="0"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "order_id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
    ForeignKeyConstraint(["tenant_id", "member_id"], ["members.tenant_id", "members.member_id"]),
    ForeignKeyConstraint(["tenant_id", "venue_id"], ["venues.tenant_id", "venues.venue_id"]),
    UniqueConstraint("tenant_id", "external_id"),
    Index(None, "tenant_id", "created_at"),
    Index(None, "tenant_id", "member_id", "created_at"),
    Index(None, "tenant_id", "venue_id", "created_at"),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    Column("order_id", Uuid, nullable=False),
    Column("line_index", Integer, nullable=False),
    Column("sku", String(256), nullable=False),
    Column("name", String(512), nullable=True),
    Column("category", String(256), nullable=True),
    # Quantities in thousandths (weighed goods have up to three decimals), so refunds of parts stay exact.
    Column("quantity", BigInteger, nullable=False),
    Column("unit_price", BigInteger, nullable=False),
    Column("discount", BigInteger, nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("refunded_quantity", BigInteger, nullable=False, server_default="0"),
    PrimaryKeyConstraint("tenant_id", "order_id", "line_index"),
    ForeignKeyConstraint(["tenant_id", "order_id"], ["orders.tenant_id", "orders.order_id"]),
)

refunds = Table(
    "refunds",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    Column("refund_id", Uuid, nullable=False),
    Column("order_id", Uuid, nullable=False),
    Column("external_id", String(255), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("reason", String(1000), nullable=True),
    Column("value", BigInteger, nullable=False),  # minor units: the refunded share of the lines' totals
    Column("points_reversed", BigInteger, nullable=False, server_default="0"),
    Column("points_returned", BigInteger, nullable=False, server_default="0"),
    Column("event_id", Uuid, nullable=True),  # ORDER_REFUNDED, for member orders
    Column("actor", String(200), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "refund_id"),
    ForeignKeyConstraint(["tenant_id", "order_id"], ["orders.tenant_id", "orders.order_id"]),
    # A retried refund (same externalId for the same order) is answered with the stored one.
    UniqueConstraint("tenant_id", "order_id", "external_id"),
)

refund_lines = Table(
    "refund_lines",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    Column("refund_id", Uuid, nullable=False),
    Column("order_id", Uuid, nullable=False),
    Column("line_index", Integer, nullable=False),
    Column("quantity", BigInteger, nullable=False),  # thousandths
    Column("value", BigInteger, nullable=False),
    PrimaryKeyConstraint("tenant_id", "refund_id", "line_index"),
    ForeignKeyConstraint(["tenant_id", "refund_id"], ["refunds.tenant_id", "refunds.refund_id"]),
    ForeignKeyConstraint(
        ["tenant_id", "order_id", "line_index"],
        ["order_lines.tenant_id", "order_lines.order_id", "order_lines.line_index"],
    ),
)

# Points liability criteria (expiry and caps), stored and validated; not yet enforced on the ledger.
# ``expiry_slot`` is "EXPIRY" on the tenant's SIMPLE_EXPIRY criterion and NULL on every other row, so the unique
# constraint allows at most one expiry criterion per tenant (NULLs never collide).
points_liability_criteria = Table(
    "points_liability_criteria",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    Column("criterion_id", Uuid, nullable=False),
    Column("name", String(255), nullable=False),
    Column("type", String(32), nullable=False),
    Column("liability_type", String(16), nullable=False),
    Column("config", JsonDocument, nullable=False),
    Column("is_active", Boolean, nullable=False, server_default=true()),
    Column("expiry_slot", String(8), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "criterion_id"),
    UniqueConstraint("tenant_id", "expiry_slot"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
)

# ---- the audit trail ----

# One row per successful state-changing request of an admin client, written in the request's own transaction: a
# row exists exactly when the change does (a failed or rolled-back command leaves none, a replay adds none).
audit_entries = Table(
    "audit_entries",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    Column("audit_id", Uuid, nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    # The client, and its name as it was then (clients are revoked, never renamed or deleted).
    Column("actor_client_id", Uuid, nullable=False),
    Column("actor_name", String(200), nullable=False),
    Column("method", String(8), nullable=False),
    # The route template (/v1/users/{id}/points) and the concrete path.
    Column("route", String(255), nullable=False),
    Column("path", Text, nullable=False),
    # Path parameter → value; `targets` holds the same values one a line ("\n<a>\n<b>\n") for the target filter.
    Column("target_ids", JsonDocument, nullable=False),
    Column("targets", Text, nullable=False),
    # The request body, redacted and capped (domain/audit.py); a truncated one is a string, the start of its text.
    Column("request_body", JsonDocument, nullable=True),
    Column("request_body_truncated", Boolean, nullable=False, server_default=false()),
    Column("status_code", Integer, nullable=False),
    Column("idempotency_key", String(255), nullable=True),
    PrimaryKeyConstraint("tenant_id", "audit_id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
    Index(None, "tenant_id", "occurred_at"),
)
