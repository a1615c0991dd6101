"""/v1 routes: Rewards."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["Rewards"])
