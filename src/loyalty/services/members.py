"""Members: sign-up, lookup by any identifier, profile changes, closing an account, search."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from sqlalchemy import ColumnElement, bindparam, false, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from loyalty.domain import members as rules
from loyalty.domain.errors import Conflict, Forbidden, MemberNotFound
from loyalty.domain.identifiers import new_account_number, read_identifier
from loyalty.domain.members import Member
from loyalty.services import events, member_state
from loyalty.services.clock import now
from loyalty.storage.database import Tx
from loyalty.storage.sql import storable
from loyalty.storage.tables import members, point_accounts

_ACCOUNT_NUMBER_ATTEMPTS = 8


@dataclass(frozen=True)
class MemberDefinition:
    profile: dict[str, Any]
    auth_identifier: str | None = None
    external_identifier: str | None = None
    flags: dict[str, bool] | None = None
    is_restricted: bool = False


@dataclass(frozen=True)
class MemberPatch:
    """Only the fields present in the request; ``None`` means "not given"."""

    profile: dict[str, Any] | None = None
    flags: dict[str, bool] | None = None
    external_identifier: str | None = None
    is_restricted: bool | None = None


def _member(row: Any) -> Member:
    return Member(
        tenant_id=row.tenant_id,
        member_id=row.member_id,
        account_number=row.account_number,
        auth_identifier=row.auth_identifier,
        external_identifier=row.external_identifier,
        profile=row.profile,
        flags=row.flags,
        is_restricted=row.is_restricted,
        created_at=row.created_at,
        updated_at=row.updated_at,
        closed_at=row.closed_at,
    )


async def _ensure_identifiers_free(
    tx: Tx, tenant_id: uuid.UUID, auth_identifier: str | None, external_identifier: str | None
) -> None:
    clauses: list[ColumnElement[bool]] = []
    if auth_identifier is not None:
        clauses.append(members.c.auth_identifier == auth_identifier)
    if external_identifier is not None:
        clauses.append(members.c.external_identifier == external_identifier)
    if not clauses:
        return
    taken = (
        await tx.execute(select(members.c.member_id).where(members.c.tenant_id == tenant_id, or_(*clauses)).limit(1))
    ).first()
    if taken is not None:
        raise Conflict(
            "A member with this authIdentifier or externalIdentifier already exists.", code="USER_ALREADY_EXISTS"
        )


async def create_member(tx: Tx, tenant_id: uuid.UUID, definition: MemberDefinition, actor: str) -> Member:
    created_at = now()
    member_id = uuid.uuid4()
    for _ in range(_ACCOUNT_NUMBER_ATTEMPTS):
        await _ensure_identifiers_free(tx, tenant_id, definition.auth_identifier, definition.external_identifier)
        account_number = new_account_number()
        try:
            # A savepoint, so a collision on the random account number (or a racing sign-up with the same
            # identifiers) can be retried without losing the rest of the transaction.
            async with tx.begin_nested():
                await tx.execute(
                    members.insert().values(
                        tenant_id=tenant_id,
                        member_id=member_id,
                        account_number=account_number,
                        auth_identifier=definition.auth_identifier,
                        external_identifier=definition.external_identifier,
                        profile=definition.profile,
                        flags=definition.flags or {},
                        is_restricted=definition.is_restricted,
                        search_text=rules.search_text(
                            definition.profile,
                            account_number,
                            definition.auth_identifier,
                            definition.external_identifier,
                        ),
                        created_at=created_at,
                        updated_at=created_at,
                    )
                )
            break
        except IntegrityError:
            continue
    else:
        raise Conflict("Could not allocate an account number; try again.", code="ACCOUNT_NUMBER_EXHAUSTED")
    await tx.execute(point_accounts.insert().values(tenant_id=tenant_id, member_id=member_id, updated_at=created_at))
    member = await get_member(tx, tenant_id, member_id)
    await events.emit(
        tx,
        tenant_id,
        events.IntrinsicEvent.REGISTERED_ACCOUNT,
        subject=member,
        payload={"userId": str(member_id), "accountNumber": account_number},
        executor=actor,
    )
    await member_state.member_changed(tx, tenant_id, member_id)
    # Re-read: a sign-up reactor may have changed the member (an ATTRIBUTE reaction, say).
    return await get_member(tx, tenant_id, member_id)


# Statements on the till's paths are built once (see storage/sql.py, ignoring_conflicts).
_OPEN_MEMBER = select(members).where(
    members.c.tenant_id == bindparam("tenant_id"),
    members.c.member_id == bindparam("member_id"),
    members.c.closed_at.is_(None),
)


async def get_member(tx: Tx, tenant_id: uuid.UUID, member_id: uuid.UUID) -> Member:
    row = (await tx.execute(_OPEN_MEMBER, {"tenant_id": tenant_id, "member_id": member_id})).first()
    if row is None:
        raise MemberNotFound(str(member_id))
    return _member(row)


async def find_open_member(tx: Tx, tenant_id: uuid.UUID, column: Any, value: str) -> Member | None:
    """The open member whose ``column`` — one of the identifier columns unique in a tenant — is ``value``."""
    row = (
        await tx.execute(
            select(members).where(members.c.tenant_id == tenant_id, column == value, members.c.closed_at.is_(None))
        )
    ).one_or_none()
    return _member(row) if row is not None else None


@cache
def _candidates(*, by_id: bool, by_number: bool) -> Any:
    """The open members an identifier may name: by authIdentifier and externalIdentifier, and by id and account
    number when the identifier has their form (four statements, built once)."""
    clauses: list[ColumnElement[bool]] = [
        members.c.auth_identifier == bindparam("text"),
        members.c.external_identifier == bindparam("text"),
    ]
    if by_id:
        clauses.append(members.c.member_id == bindparam("member_id"))
    if by_number:
        clauses.append(members.c.account_number == bindparam("account_number"))
    return select(members).where(
        members.c.tenant_id == bindparam("tenant_id"), members.c.closed_at.is_(None), or_(*clauses)
    )


async def resolve_member(tx: Tx, tenant_id: uuid.UUID, identifier: str) -> Member:
    """The open member an identifier names: UUID id, then account number, authIdentifier, externalIdentifier.

    One query fetches every candidate; the contract's precedence picks among them.
    """
    wanted = read_identifier(identifier)
    if not wanted.text or not storable(wanted.text):
        raise MemberNotFound(identifier)
    query = _candidates(by_id=wanted.member_id is not None, by_number=wanted.account_number is not None)
    found = await tx.execute(
        query,
        {
            "tenant_id": tenant_id,
            "text": wanted.text,
            "member_id": wanted.member_id,
            "account_number": wanted.account_number,
        },
    )
    rows = [_member(r) for r in found]

    def rank(member: Member) -> int:
        if member.member_id == wanted.member_id:
            return 0
        if member.account_number == wanted.account_number:
            return 1
        return 2 if member.auth_identifier == wanted.text else 3

    if rows:
        return min(rows, key=rank)
    raise MemberNotFound(identifier)


async def update_member(
    tx: Tx, tenant_id: uuid.UUID, member: Member, patch: MemberPatch, *, by_admin: bool, actor: str
) -> Member:
    if not by_admin and (
        patch.flags is not None or patch.external_identifier is not None or patch.is_restricted is not None
    ):
        raise Forbidden("A member may only change their own profile.", code="FORBIDDEN_FIELD")
    values: dict[str, Any] = {}
    profile = member.profile
    if patch.profile is not None:
        profile = rules.merge_profile(member.profile, patch.profile)
        values["profile"] = profile
    if patch.flags is not None:
        values["flags"] = {**member.flags, **patch.flags}
    external_identifier = member.external_identifier
    if patch.external_identifier is not None and patch.external_identifier != member.external_identifier:
        await _ensure_identifiers_free(tx, tenant_id, None, patch.external_identifier)
        external_identifier = patch.external_identifier
        values["external_identifier"] = external_identifier
    if patch.is_restricted is not None:
        values["is_restricted"] = patch.is_restricted
    values["search_text"] = rules.search_text(
        profile, member.account_number, member.auth_identifier, external_identifier
    )
    values["updated_at"] = now()
    try:
        async with tx.begin_nested():
            await tx.execute(
                update(members)
                .where(members.c.tenant_id == tenant_id, members.c.member_id == member.member_id)
                .values(**values)
            )
    except IntegrityError as error:
        raise Conflict("That externalIdentifier belongs to another member.", code="USER_ALREADY_EXISTS") from error
    changed = sorted(k for k in ("profile", "flags", "external_identifier", "is_restricted") if k in values)
    await events.emit(
        tx,
        tenant_id,
        events.IntrinsicEvent.PROFILE_UPDATED,
        subject=await get_member(tx, tenant_id, member.member_id),
        payload={"userId": str(member.member_id), "changed": changed},
        executor=actor,
    )
    await member_state.member_changed(tx, tenant_id, member.member_id)
    return await get_member(tx, tenant_id, member.member_id)


async def close_member(tx: Tx, tenant_id: uuid.UUID, member: Member, actor: str) -> Member:
    """Close an account: personal data erased, identifiers released, ledger kept under the anonymous id."""
    closed_at = now()
    await tx.execute(
        update(members)
        .where(members.c.tenant_id == tenant_id, members.c.member_id == member.member_id)
        .values(
            profile=rules.erased_profile(),
            flags={},
            auth_identifier=None,
            external_identifier=None,
            search_text="",
            updated_at=closed_at,
            closed_at=closed_at,
        )
    )
    row = (
        await tx.execute(
            select(members).where(members.c.tenant_id == tenant_id, members.c.member_id == member.member_id)
        )
    ).one()
    closed = _member(row)
    await events.emit(
        tx,
        tenant_id,
        events.IntrinsicEvent.CLOSED_ACCOUNT,
        subject=closed,
        payload={"userId": str(member.member_id)},
        executor=actor,
    )
    return closed


async def list_members(
    tx: Tx,
    tenant_id: uuid.UUID,
    *,
    search: str | None,
    limit: int,
    skip: int,
    order: Literal["ASC", "DESC"],
) -> tuple[list[Member], int]:
    condition = (members.c.tenant_id == tenant_id) & members.c.closed_at.is_(None)
    if search and not storable(search):
        condition = condition & false()
    elif search:
        pattern = "%" + search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        condition = condition & members.c.search_text.like(pattern, escape="\\")
    total = (await tx.execute(select(func.count()).select_from(members).where(condition))).scalar_one()
    ordering = members.c.created_at.asc() if order == "ASC" else members.c.created_at.desc()
    rows = await tx.execute(
        select(members).where(condition).order_by(ordering, members.c.member_id).limit(limit).offset(skip)
    )
    return [_member(r) for r in rows], total


async def find_by_auth_identifier(tx: Tx, tenant_id: uuid.UUID, auth_identifier: str) -> Member:
    """The open member whose authIdentifier is this (a member token's ``sub``)."""
    if not storable(auth_identifier):
        raise MemberNotFound(auth_identifier)
    row = (
        await tx.execute(
            select(members).where(
                members.c.tenant_id == tenant_id,
                members.c.auth_identifier == auth_identifier,
                members.c.closed_at.is_(None),
            )
        )
    ).first()
    if row is None:
        raise MemberNotFound(auth_identifier)
    return _member(row)


async def set_attributes(tx: Tx, tenant_id: uuid.UUID, member_id: uuid.UUID, pairs: dict[str, Any]) -> None:
    """Set profile attributes (an ATTRIBUTE reaction). The row is locked first so concurrent writers of the same
    profile cannot lose each other's keys."""
    row = (
        await tx.execute(
            select(members.c.profile)
            .where(members.c.tenant_id == tenant_id, members.c.member_id == member_id)
            .with_for_update()
        )
    ).one()
    profile = rules.merge_profile(row.profile, {"attributes": pairs})
    await tx.execute(
        update(members)
        .where(members.c.tenant_id == tenant_id, members.c.member_id == member_id)
        .values(profile=profile, updated_at=now())
    )
    await member_state.member_changed(tx, tenant_id, member_id)
