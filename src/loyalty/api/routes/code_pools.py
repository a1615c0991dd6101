"""/v1 routes: Code pools."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["Code pools"])
