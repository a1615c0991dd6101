"""Venues on the wire (after WLL's VenueDefinition and VenuePatch)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import Field, StringConstraints

from loyalty.api.models.common import JsonObject, RequestModel, ResponseModel, Timestamp
from loyalty.domain.timestamps import iso
from loyalty.services.venues import Venue

Name = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Address = Annotated[str, StringConstraints(min_length=1, max_length=512)]
Description = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
ExternalIdentifier = Annotated[str, StringConstraints(min_length=1, max_length=512)]
Postcode = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Moment = Annotated[str, StringConstraints(min_length=1, max_length=64)]

# WLL fields this engine does not implement.
_UNSUPPORTED = frozenset({"isUserModifiable", "type", "category", "shouldCalculateCoordinates"})


class Availability(RequestModel):
    start: Moment | None = Field(default=None, description="A date or an ISO 8601 date-time; null = always.")
    end: Moment | None = Field(default=None, description="A date or an ISO 8601 date-time; null = open-ended.")


class Coordinates(RequestModel):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class VenueDefinition(RequestModel):
    unsupported: ClassVar[frozenset[str]] = _UNSUPPORTED

    name: Name
    address: Address | None = None
    description: Description | None = None
    availability: Availability | None = None
    coordinates: Coordinates | None = None
    attributes: JsonObject = Field(
        default_factory=dict, description="Free-form, e.g. bookingUrl, telephoneNumber, openingTimes."
    )
    external_identifier: ExternalIdentifier | None = Field(
        default=None, description="The store number the POS sends; unique in the tenant."
    )
    postcode: Postcode | None = None


class VenuePatch(RequestModel):
    """Only the fields given change; `null` clears an optional field."""

    unsupported: ClassVar[frozenset[str]] = _UNSUPPORTED

    name: Name | None = None
    address: Address | None = None
    description: Description | None = None
    availability: Availability | None = None
    coordinates: Coordinates | None = None
    attributes: JsonObject | None = None
    external_identifier: ExternalIdentifier | None = None
    postcode: Postcode | None = None


class AvailabilityOut(ResponseModel):
    start: str | None
    end: str | None


class VenueOut(ResponseModel):
    id: str
    name: str
    address: str | None
    description: str | None
    availability: AvailabilityOut
    coordinates: dict[str, float] | None
    attributes: dict[str, Any]
    external_identifier: str | None
    postcode: str | None
    created_at: Timestamp
    updated_at: Timestamp
    deleted_at: Timestamp | None = None

    @classmethod
    def of(cls, venue: Venue) -> VenueOut:
        return cls(
            id=str(venue.venue_id),
            name=venue.name,
            address=venue.address,
            description=venue.description,
            availability=AvailabilityOut(
                start=iso(venue.available_from) if venue.available_from else None,
                end=iso(venue.available_until) if venue.available_until else None,
            ),
            coordinates=venue.coordinates,
            attributes=venue.attributes,
            external_identifier=venue.external_identifier,
            postcode=venue.postcode,
            created_at=venue.created_at,
            updated_at=venue.updated_at,
            deleted_at=venue.deleted_at,
        )
