"""Code pools, benefits (vouchers) and the voucher commands on the wire."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import Field, StringConstraints

from loyalty.api.models.common import RequestModel, ResponseModel, Timestamp
from loyalty.api.models.rewards import RewardOut
from loyalty.domain.benefits import Benefit
from loyalty.domain.members import Member
from loyalty.services.clock import now
from loyalty.services.codes import BulkResult, Code, CodePool
from loyalty.services.rewards import RewardView

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=512)]
CodeText = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class CodePoolDefinition(RequestModel):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    description: Annotated[str, StringConstraints(max_length=1024)] | None = None
    active: bool = True


class CodePoolOut(ResponseModel):
    id: str
    name: str
    description: str | None
    active: bool
    created_at: Timestamp
    total_codes: int
    issued_codes: int

    @classmethod
    def of(cls, pool: CodePool) -> CodePoolOut:
        return cls(
            id=str(pool.pool_id),
            name=pool.name,
            description=pool.description,
            active=pool.active,
            created_at=pool.created_at,
            total_codes=pool.total,
            issued_codes=pool.issued,
        )


class CodeDefinition(RequestModel):
    value: CodeText


class BulkCodes(RequestModel):
    codes: list[str] = Field(max_length=100_000, description="At most 100,000 codes per call.")


class BulkResultOut(ResponseModel):
    created: int
    duplicates: list[str] = Field(description="Codes skipped: already in the tenant, or repeated in the request.")

    @classmethod
    def of(cls, result: BulkResult) -> BulkResultOut:
        return cls(created=result.created, duplicates=result.duplicates)


class CodeOut(ResponseModel):
    id: str
    value: str
    created_at: Timestamp
    issued_at: Timestamp | None
    benefit_id: str | None

    @classmethod
    def of(cls, code: Code) -> CodeOut:
        return cls(
            id=str(code.code_id),
            value=code.value,
            created_at=code.created_at,
            issued_at=code.issued_at,
            benefit_id=str(code.benefit_id) if code.benefit_id else None,
        )


class BenefitOwner(ResponseModel):
    id: str
    account_number: str
    auth_identifier: str | None


class BenefitCode(ResponseModel):
    id: str | None
    created_at: Timestamp | None
    updated_at: Timestamp | None
    redeemed_at: Timestamp | None
    validated_at: Timestamp | None
    value: str | None = Field(description="Shown once the benefit is redeemed (never for hideCode rewards).")


class BenefitOut(ResponseModel):
    id: str | None = Field(description="Null only when a STATIC code was validated (it names a reward, not a benefit).")
    type: str
    created_at: Timestamp | None
    redeemed_at: Timestamp | None
    expires_at: Timestamp | None
    burned_at: Timestamp | None
    reward: RewardOut
    owner: BenefitOwner | None
    code: BenefitCode | None
    status: str = Field(description="Derived: CREATED, REDEEMED, VALIDATED, BURNED or EXPIRED.")

    @classmethod
    def of(cls, benefit: Benefit, view: RewardView, owner: Member) -> BenefitOut:
        revealed = benefit.redeemed_at is not None and not view.reward.hide_code
        code = None
        if benefit.code_id is not None:
            code = BenefitCode(
                id=str(benefit.code_id),
                created_at=benefit.code_created_at,
                updated_at=benefit.updated_at,
                redeemed_at=benefit.redeemed_at,
                validated_at=benefit.code_validated_at,
                value=benefit.code_value if revealed else None,
            )
        return cls(
            id=str(benefit.benefit_id),
            type=benefit.type,
            created_at=benefit.created_at,
            redeemed_at=benefit.redeemed_at,
            expires_at=benefit.expires_at,
            burned_at=benefit.burned_at,
            reward=RewardOut.of(view, show_static_code=False),
            owner=BenefitOwner(
                id=str(owner.member_id), account_number=owner.account_number, auth_identifier=owner.auth_identifier
            ),
            code=code,
            status=benefit.status(now()).value,
        )

    @classmethod
    def of_static_code(cls, view: RewardView, value: str) -> BenefitOut:
        reward = view.reward
        return cls(
            id=None,
            type=reward.type.value,
            created_at=None,
            redeemed_at=None,
            expires_at=reward.available_until,
            burned_at=None,
            reward=RewardOut.of(view, show_static_code=False),
            owner=None,
            code=BenefitCode(
                id=None, created_at=None, updated_at=None, redeemed_at=None, validated_at=None, value=value
            ),
            status="VALIDATED",
        )


class PurchaseReward(RequestModel):
    reward_id: uuid.UUID
    beneficiary_id: Identifier | None = Field(
        default=None, description="The member (any identifier); required for admin and pos clients."
    )


class RedeemBenefit(RequestModel):
    benefit_id: uuid.UUID


class ValidateVoucher(RequestModel):
    code: CodeText
    allow_future_validation: bool = Field(
        default=False, description="True: check the code and mark it validated, without burning it."
    )
    user_identifier: Identifier | None = Field(default=None, description="The member presenting it (any identifier).")
    venue_identifier: Identifier | None = Field(default=None, description="The venue: id or externalIdentifier.")


class GiveReward(RequestModel):
    reward_id: uuid.UUID
    beneficiary_id: Identifier
    comment: Annotated[str, StringConstraints(max_length=1000)] | None = None


class UnburnVoucher(RequestModel):
    benefit_id: uuid.UUID
    reason: Annotated[str, StringConstraints(min_length=1, max_length=1000)]
    venue_identifier: Identifier | None = Field(
        default=None, description="pos clients: the venue restoring it (must be the one that burned it)."
    )
