"""A typed Python client for the engine, for tills and back-office tools: see ``clients.py``."""

from loyalty.client.clients import AsyncLoyaltyClient, LoyaltyClient
from loyalty.client.core import FlushReport, RetryPolicy
from loyalty.client.errors import (
    Conflict,
    Forbidden,
    InvalidRequest,
    LoyaltyError,
    NotFound,
    OfflineRefused,
    RateLimited,
    Refused,
    ServerError,
    Unauthorized,
    Unreachable,
)
from loyalty.client.journal import Queued
from loyalty.client.offline import OfflinePricedBasket

__all__ = [
    "AsyncLoyaltyClient",
    "Conflict",
    "FlushReport",
    "Forbidden",
    "InvalidRequest",
    "LoyaltyClient",
    "LoyaltyError",
    "NotFound",
    "OfflinePricedBasket",
    "OfflineRefused",
    "Queued",
    "RateLimited",
    "Refused",
    "RetryPolicy",
    "ServerError",
    "Unauthorized",
    "Unreachable",
]
