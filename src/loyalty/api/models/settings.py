"""Tenant settings on the wire (after WLL's SettingDefinition)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints

from loyalty.api.models.common import RequestModel, ResponseModel, check_json_value
from loyalty.services.settings import Setting

SettingValue = Annotated[Any, AfterValidator(check_json_value)]


class SettingDefinition(RequestModel):
    name: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(
        description="A known setting: pointsCurrencyValue, timezone, baseCurrency, discountStacking, "
        "pendingPeriod, restoreVouchersOnRefund."
    )
    value: SettingValue = Field(description="The setting's value (a string, a boolean, or null where allowed).")


class SettingOut(ResponseModel):
    name: str
    value: Any = Field(description="The current value; a setting never written shows its default.")

    @classmethod
    def of(cls, setting: Setting) -> SettingOut:
        return cls(name=setting.name, value=setting.value)
