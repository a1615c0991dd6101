"""/v1 routes: Reward categories."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["Reward categories"])
