"""Member (user) bodies and responses, after WLL's UserDefinition / UserPatch."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import EmailStr, Field, StringConstraints, field_validator

from loyalty.api.models.common import JsonObject, RequestModel, ResponseModel, Timestamp
from loyalty.domain.members import Member

Name = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Birthdate = Annotated[
    str, StringConstraints(pattern=r"^(19[0-9][0-9]|20[0-3][0-9])-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])$")
]
Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
# No leading or trailing white space: lookups trim what the POS sends, so such an identifier could never be found.
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=512, pattern=r"^\S(?:.*\S)?$")]
Gender = Literal["FEMALE", "MALE", "OTHER", "UNKNOWN"]


class _ProfileFields(RequestModel):
    unsupported: ClassVar[frozenset[str]] = frozenset({"attributionData"})

    gender: Gender | None = None
    birthdate: Birthdate | None = None
    country: Country | None = Field(default=None, description="ISO 3166-1 alpha-2.")
    city: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    postcode: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    region: Annotated[str, StringConstraints(max_length=256)] | None = None
    street_address: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    telephone_number: Annotated[str, StringConstraints(max_length=64)] | None = None
    picture_url: Annotated[str, StringConstraints(max_length=2048, pattern=r"^https?://")] | None = None
    attributes: JsonObject | None = Field(
        default=None, description="Free-form member attributes (editable by the member and by admins)."
    )


class ProfileDefinition(_ProfileFields):
    given_name: Name
    family_name: Name
    email_address: EmailStr


class ProfilePatch(_ProfileFields):
    given_name: Name | None = None
    family_name: Name | None = None
    email_address: EmailStr | None = None

    @field_validator("given_name", "family_name", "email_address", mode="before")
    @classmethod
    def _required_fields_stay_set(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("a required profile field cannot be removed")
        return value


# Fields of WLL's UserDefinition this engine does not implement (referrals, consents, linked venues).
_WLL_USER_EXTRAS = frozenset(
    {
        "referralInviteCode",
        "userToken",
        "referralActivity",
        "linkedVenuesDefinitions",
        "linkedVenues",
        "consentsDefinition",
    }
)


class UserDefinition(RequestModel):
    unsupported: ClassVar[frozenset[str]] = _WLL_USER_EXTRAS

    profile: ProfileDefinition
    auth_identifier: Identifier | None = Field(default=None, description="The member's id at the retailer's IdP.")
    external_identifier: Identifier | None = None
    flags: dict[str, bool] | None = Field(default=None, description="Admin-only boolean flags, e.g. `staff`.")
    is_restricted: bool = False


class UserPatch(RequestModel):
    unsupported: ClassVar[frozenset[str]] = _WLL_USER_EXTRAS

    profile: ProfilePatch | None = None
    flags: dict[str, bool] | None = None
    external_identifier: Identifier | None = None
    is_restricted: bool | None = None


def profile_document(profile: _ProfileFields) -> dict[str, Any]:
    """The stored profile: the fields given, in camelCase."""
    return profile.model_dump(by_alias=True, exclude_unset=True, mode="json")


class UserOut(ResponseModel):
    id: str
    account_number: str
    auth_identifier: str | None
    external_identifier: str | None
    created_at: Timestamp
    updated_at: Timestamp
    is_restricted: bool
    profile: dict[str, Any]
    flags: dict[str, bool]

    @classmethod
    def of(cls, member: Member) -> UserOut:
        return cls(
            id=str(member.member_id),
            account_number=member.account_number,
            auth_identifier=member.auth_identifier,
            external_identifier=member.external_identifier,
            created_at=member.created_at,
            updated_at=member.updated_at,
            is_restricted=member.is_restricted,
            profile={"gender": "UNKNOWN", "attributes": {}, **member.profile},
            flags=member.flags,
        )


class ClosedUserOut(UserOut):
    closed_at: Timestamp | None

    @classmethod
    def closed(cls, member: Member) -> ClosedUserOut:
        return cls(**UserOut.of(member).model_dump(), closed_at=member.closed_at)
