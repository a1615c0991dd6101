"""``LoyaltyClient`` (blocking) and ``AsyncLoyaltyClient``: the POS surface and the admin configuration of the
engine, over httpx.

Every operation that changes something carries an ``Idempotency-Key`` made once for it and kept across retries;
connection failures, 5xx and 429 are retried with backoff and jitter (honouring ``Retry-After``); the client
token is fetched, cached and renewed. With a ``journal`` path, earn-only operations made while the engine is
unreachable are journalled and replayed in order by ``flush()`` — or automatically after the next successful
call — and voucher burns, spends, refunds and checkouts fail closed with ``OfflineRefused``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

import httpx
from tenacity import AsyncRetrying, Retrying

from loyalty.api.models.audiences import AudienceOut
from loyalty.api.models.benefits import BenefitOut
from loyalty.api.models.checkouts import PricedBasketOut, ReceiptOut
from loyalty.api.models.events import EventOut, EventTypeOut, ReactorOut
from loyalty.api.models.liability import CriterionOut
from loyalty.api.models.members import UserOut
from loyalty.api.models.orders import PlacedOrderOut, RefundOut
from loyalty.api.models.points import LedgerEntryOut, PredictionsOut, WalletOut
from loyalty.api.models.rewards import DiscountOut, RewardOut
from loyalty.api.models.settings import SettingOut
from loyalty.api.models.tiers import TierOut
from loyalty.api.models.venues import VenueOut
from loyalty.client import calls
from loyalty.client.calls import Body, Call
from loyalty.client.core import ClientBase, FlushReport, RetryPolicy
from loyalty.client.errors import LoyaltyError, Unreachable
from loyalty.client.journal import Queued

T = TypeVar("T")

__all__ = ["AsyncLoyaltyClient", "LoyaltyClient", "RetryPolicy"]


def _unreachable(error: httpx.TransportError) -> Unreachable:
    return Unreachable(f"The engine could not be reached: {error!r}", code="UNREACHABLE")


class LoyaltyClient(ClientBase):
    def __init__(
        self,
        base_url: str,
        api_key: str,
        client_id: str | None = None,
        client_secret: str | None = None,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        **options: Any,
    ) -> None:
        super().__init__(base_url, api_key, client_id, client_secret, **options)
        self._http = httpx.Client(base_url=base_url, timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()
        if self.journal is not None:
            self.journal.close()

    def __enter__(self) -> LoyaltyClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ---- sending ----

    def _fetch_token(self) -> str:
        current = self._token.current()
        if current is not None:
            return current
        try:
            response = self._http.post(**self._token_request())
        except httpx.TransportError as error:
            raise _unreachable(error) from error
        return self._token_answer(response)

    def _once(self, call: Call[T]) -> T:
        for _ in range(2):
            try:
                response = self._http.request(
                    call.method,
                    call.path,
                    json=call.body,
                    params=call.params,
                    headers=self._headers(call, self._fetch_token()),
                )
            except httpx.TransportError as error:
                raise _unreachable(error) from error
            if not self._may_refresh(response):
                break
            self._token.value = None  # expired or revoked meanwhile: fetch a new one, once
        return self._answer(call, response)

    def _deliver(self, call: Call[T]) -> T:
        for attempt in Retrying(**self.retry.options()):
            with attempt:
                return self._once(call)
        raise AssertionError("unreachable")  # pragma: no cover - Retrying re-raises the last error

    def send(self, call: Call[T]) -> T:
        """Send a call (retried as the policy says); after a success, anything journalled is replayed."""
        try:
            result = self._deliver(call)
        except Unreachable as error:
            self._fail_offline(call, error)
        self._after_success()
        return result

    def _send_or_queue(self, call: Call[T]) -> T | Queued:
        try:
            result = self._deliver(call)
        except Unreachable as error:
            return self._queue(call, error)
        self._after_success()
        return result

    def _after_success(self) -> None:
        if self._should_flush():
            self.flush()

    def flush(self) -> FlushReport:
        """Replay the journal in order; stop at the first operation that still cannot reach the engine."""
        report = FlushReport()
        self._flushing = True
        try:
            for entry, call in self._replay_calls():
                try:
                    self._deliver(call)
                except LoyaltyError as error:
                    if not self._replayed(report, entry, error):
                        break
                    continue
                self._replayed(report, entry, None)
        finally:
            self._flushing = False
        report.pending = self.journal.pending() if self.journal else 0
        return report

    # ---- the POS surface ----

    def identify(self, member: str) -> UserOut:
        return self.send(calls.identify(member))

    def sign_up(self, definition: Body) -> UserOut:
        return self.send(calls.sign_up(definition))

    def wallet(self, member: str) -> WalletOut:
        return self.send(calls.wallet(member))

    def predictions(self, member: str, period: str = "MONTH") -> PredictionsOut:
        return self.send(calls.predictions(member, period))

    def ledger(self, member: str, limit: int = 100) -> list[LedgerEntryOut]:
        return self.send(calls.ledger(member, limit))

    def offers(self, member: str) -> list[RewardOut]:
        return self._remember_offers(member, self.send(calls.offers(member)))

    def rewards(self, member: str | None = None, limit: int = 100) -> list[RewardOut]:
        return self.send(calls.rewards(member, limit))

    def purchase(self, reward_id: str, member: str) -> BenefitOut:
        return self.send(calls.purchase(reward_id, member))

    def redeem(self, benefit_id: str) -> BenefitOut:
        return self.send(calls.redeem(benefit_id))

    def validate_voucher(
        self, code: str, *, member: str | None = None, venue: str | None = None, burn: bool = False
    ) -> BenefitOut:
        return self.send(calls.validate_voucher(code, member=member, venue=venue, burn=burn))

    def report_event(
        self,
        event_type: str,
        subject: str | None = None,
        payload: Mapping[str, Any] | None = None,
        *,
        occurred_at: datetime | None = None,
        spends_points: bool = False,
    ) -> EventOut | Queued:
        call = calls.report_event(event_type, subject, payload, occurred_at=occurred_at, spends_points=spends_points)
        return self._send_or_queue(call)

    def place_order(self, order: Body) -> PlacedOrderOut | Queued:
        return self._send_or_queue(calls.place_order(order))

    def refund(
        self,
        order: str,
        external_id: str,
        line_items: list[Mapping[str, Any]] | None = None,
        reason: str | None = None,
    ) -> RefundOut:
        return self.send(calls.refund(order, external_id, line_items, reason))

    def price(self, basket: Body) -> PricedBasketOut:
        """Price a basket; offline, from the member's offers as last fetched (an ``OfflinePricedBasket``)."""
        call = calls.price(basket)
        try:
            return self._deliver(call)
        except Unreachable:
            return self._price_offline(call)

    def checkout(self, basket: Body) -> ReceiptOut:
        return self.send(calls.checkout(basket))

    def void(self, checkout: str) -> ReceiptOut:
        return self.send(calls.void(checkout))

    def adjust_points(self, member: str, points: int, **options: Any) -> LedgerEntryOut:
        return self.send(calls.adjust_points(member, points, **options))

    # ---- configuration ----

    def create_event_type(self, definition: Body) -> EventTypeOut:
        return self.send(calls.create_event_type(definition))

    def create_reactor(self, definition: Body) -> ReactorOut:
        return self.send(calls.create_reactor(definition))

    def create_reward(self, definition: Body) -> RewardOut:
        return self.send(calls.create_reward(definition))

    def add_discount(self, reward_id: str, definition: Body) -> DiscountOut:
        return self.send(calls.add_discount(reward_id, definition))

    def create_audience(self, definition: Body) -> AudienceOut:
        return self.send(calls.create_audience(definition))

    def create_tier(self, definition: Body) -> TierOut:
        return self.send(calls.create_tier(definition))

    def create_venue(self, definition: Body) -> VenueOut:
        return self.send(calls.create_venue(definition))

    def update_settings(self, values: Mapping[str, Any]) -> list[SettingOut]:
        return self.send(calls.update_settings(values))

    def create_criterion(self, definition: Body) -> CriterionOut:
        return self.send(calls.create_criterion(definition))


class AsyncLoyaltyClient(ClientBase):
    def __init__(
        self,
        base_url: str,
        api_key: str,
        client_id: str | None = None,
        client_secret: str | None = None,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        **options: Any,
    ) -> None:
        super().__init__(base_url, api_key, client_id, client_secret, **options)
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)

    async def aclose(self) -> None:
        await self._http.aclose()
        if self.journal is not None:
            self.journal.close()

    async def __aenter__(self) -> AsyncLoyaltyClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    # ---- sending ----

    async def _fetch_token(self) -> str:
        current = self._token.current()
        if current is not None:
            return current
        try:
            response = await self._http.post(**self._token_request())
        except httpx.TransportError as error:
            raise _unreachable(error) from error
        return self._token_answer(response)

    async def _once(self, call: Call[T]) -> T:
        for _ in range(2):
            try:
                headers = self._headers(call, await self._fetch_token())
                response = await self._http.request(
                    call.method, call.path, json=call.body, params=call.params, headers=headers
                )
            except httpx.TransportError as error:
                raise _unreachable(error) from error
            if not self._may_refresh(response):
                break
            self._token.value = None
        return self._answer(call, response)

    async def _deliver(self, call: Call[T]) -> T:
        async for attempt in AsyncRetrying(**self.retry.options()):
            with attempt:
                return await self._once(call)
        raise AssertionError("unreachable")  # pragma: no cover - AsyncRetrying re-raises the last error

    async def send(self, call: Call[T]) -> T:
        try:
            result = await self._deliver(call)
        except Unreachable as error:
            self._fail_offline(call, error)
        await self._after_success()
        return result

    async def _send_or_queue(self, call: Call[T]) -> T | Queued:
        try:
            result = await self._deliver(call)
        except Unreachable as error:
            return self._queue(call, error)
        await self._after_success()
        return result

    async def _after_success(self) -> None:
        if self._should_flush():
            await self.flush()

    async def flush(self) -> FlushReport:
        report = FlushReport()
        self._flushing = True
        try:
            for entry, call in self._replay_calls():
                try:
                    await self._deliver(call)
                except LoyaltyError as error:
                    if not self._replayed(report, entry, error):
                        break
                    continue
                self._replayed(report, entry, None)
        finally:
            self._flushing = False
        report.pending = self.journal.pending() if self.journal else 0
        return report

    # ---- the POS surface ----

    async def identify(self, member: str) -> UserOut:
        return await self.send(calls.identify(member))

    async def sign_up(self, definition: Body) -> UserOut:
        return await self.send(calls.sign_up(definition))

    async def wallet(self, member: str) -> WalletOut:
        return await self.send(calls.wallet(member))

    async def predictions(self, member: str, period: str = "MONTH") -> PredictionsOut:
        return await self.send(calls.predictions(member, period))

    async def ledger(self, member: str, limit: int = 100) -> list[LedgerEntryOut]:
        return await self.send(calls.ledger(member, limit))

    async def offers(self, member: str) -> list[RewardOut]:
        return self._remember_offers(member, await self.send(calls.offers(member)))

    async def rewards(self, member: str | None = None, limit: int = 100) -> list[RewardOut]:
        return await self.send(calls.rewards(member, limit))

    async def purchase(self, reward_id: str, member: str) -> BenefitOut:
        return await self.send(calls.purchase(reward_id, member))

    async def redeem(self, benefit_id: str) -> BenefitOut:
        return await self.send(calls.redeem(benefit_id))

    async def validate_voucher(
        self, code: str, *, member: str | None = None, venue: str | None = None, burn: bool = False
    ) -> BenefitOut:
        call = calls.validate_voucher(code, member=member, venue=venue, burn=burn)
        return await self.send(call)

    async def report_event(
        self,
        event_type: str,
        subject: str | None = None,
        payload: Mapping[str, Any] | None = None,
        *,
        occurred_at: datetime | None = None,
        spends_points: bool = False,
    ) -> EventOut | Queued:
        call = calls.report_event(event_type, subject, payload, occurred_at=occurred_at, spends_points=spends_points)
        return await self._send_or_queue(call)

    async def place_order(self, order: Body) -> PlacedOrderOut | Queued:
        return await self._send_or_queue(calls.place_order(order))

    async def refund(
        self,
        order: str,
        external_id: str,
        line_items: list[Mapping[str, Any]] | None = None,
        reason: str | None = None,
    ) -> RefundOut:
        return await self.send(calls.refund(order, external_id, line_items, reason))

    async def price(self, basket: Body) -> PricedBasketOut:
        call = calls.price(basket)
        try:
            return await self._deliver(call)
        except Unreachable:
            return self._price_offline(call)

    async def checkout(self, basket: Body) -> ReceiptOut:
        return await self.send(calls.checkout(basket))

    async def void(self, checkout: str) -> ReceiptOut:
        return await self.send(calls.void(checkout))

    async def adjust_points(self, member: str, points: int, **options: Any) -> LedgerEntryOut:
        return await self.send(calls.adjust_points(member, points, **options))

    # ---- configuration ----

    async def create_event_type(self, definition: Body) -> EventTypeOut:
        return await self.send(calls.create_event_type(definition))

    async def create_reactor(self, definition: Body) -> ReactorOut:
        return await self.send(calls.create_reactor(definition))

    async def create_reward(self, definition: Body) -> RewardOut:
        return await self.send(calls.create_reward(definition))

    async def add_discount(self, reward_id: str, definition: Body) -> DiscountOut:
        return await self.send(calls.add_discount(reward_id, definition))

    async def create_audience(self, definition: Body) -> AudienceOut:
        return await self.send(calls.create_audience(definition))

    async def create_tier(self, definition: Body) -> TierOut:
        return await self.send(calls.create_tier(definition))

    async def create_venue(self, definition: Body) -> VenueOut:
        return await self.send(calls.create_venue(definition))

    async def update_settings(self, values: Mapping[str, Any]) -> list[SettingOut]:
        return await self.send(calls.update_settings(values))

    async def create_criterion(self, definition: Body) -> CriterionOut:
        return await self.send(calls.create_criterion(definition))
