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
    # How member (user) tokens from the retailer's identity provider are verified; null = user tokens refused.
    Column("user_auth", JsonDocument, nullable=True),
    Column("base_currency", String(3), nullable=False, server_default="GBP"),
    Column("timezone", String(64), nullable=False, server_default="UTC"),
    # Bumped by every configuration write so compiled rules can be cached per version.
    Column("config_version", BigInteger, nullable=False, server_default="1"),
    Column("created_at", UTCDateTime, nullable=False),
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
    # The account's version after this entry: orders a member's entries exactly, even within one clock tick.
    Column("sequence", BigInteger, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("comment", Text, nullable=True),
    # Who caused it: the client id or the member's subject, for the audit trail.
    Column("actor", String(200), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "entry_id"),
    ForeignKeyConstraint(["tenant_id", "member_id"], ["members.tenant_id", "members.member_id"]),
    # One entry of a kind per member per cause: a double earn is impossible even if every other layer failed.
    UniqueConstraint("tenant_id", "source_type", "source_id", "member_id", "kind"),
    UniqueConstraint("tenant_id", "member_id", "sequence"),
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
    PrimaryKeyConstraint("tenant_id", "event_id"),
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
