"""The load generator: an open loop for the sweeps, a closed loop for the ceilings.

Open loop: operations are started at a fixed arrival rate — operation ``i`` of a step is due at ``t0 + i / rate``
whatever happened to the ones before — and each operation's latency is measured from that intended start, so time
spent queueing (in the client's connection pool, in the server's accept queue, behind a lock) counts. A slow server
therefore shows up as growing latency and, past the timeout, as errors, never as a politely lower request rate (the
"coordinated omission" a closed loop suffers from).

Closed loop: ``concurrency`` workers each run operations back to back for a fixed time; the number completed per
second is the most that configuration can push through. Used for the ceilings, where only throughput matters.

The client is aiohttp rather than httpx: the generator shares the machine's cores with the server it measures, and
aiohttp spends markedly less CPU per request, so it takes less from the engine and stays on schedule at higher rates.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

# Kinds of outcome, in the order the report lists them.
OK = "ok"
RATE_LIMITED = "429"
UNAVAILABLE = "503"
SERVER_ERROR = "5xx"
CLIENT_ERROR = "4xx"
TIMEOUT = "timeout"
CONNECTION = "connection"
HARNESS = "harness"  # the harness itself failed (an answer it could not read, say): not counted against the engine
KINDS = (OK, RATE_LIMITED, UNAVAILABLE, SERVER_ERROR, CLIENT_ERROR, TIMEOUT, CONNECTION, HARNESS)
ERROR_SAMPLES = 5


class HttpFailure(Exception):
    def __init__(self, name: str, status: int, body: bytes) -> None:
        super().__init__(f"{name}: {status}")
        self.name = name
        self.status = status
        self.body = body

    @property
    def kind(self) -> str:
        if self.status == 429:
            return RATE_LIMITED
        if self.status == 503:
            return UNAVAILABLE
        return SERVER_ERROR if self.status >= 500 else CLIENT_ERROR

    def sample(self) -> str:
        return f"{self.name} -> {self.status}: {self.body[:300].decode(errors='replace')}"


@dataclass
class Shape:
    """What one request of an operation looked like on the wire (for the HTTP ceiling to imitate)."""

    method: str
    request_bytes: int = 0
    response_bytes: int = 0
    count: int = 0

    def add(self, request_bytes: int, response_bytes: int) -> None:
        self.request_bytes += request_bytes
        self.response_bytes += response_bytes
        self.count += 1

    def mean(self) -> tuple[int, int]:
        return (self.request_bytes // max(1, self.count), self.response_bytes // max(1, self.count))


class Client:
    """A thin wrapper over one aiohttp session: JSON in and out, failures raised, wire sizes recorded."""

    def __init__(self, session: aiohttp.ClientSession, headers: dict[str, str]) -> None:
        self.session = session
        self.headers = headers
        self.json_headers = {**headers, "Content-Type": "application/json"}
        self.shapes: dict[str, Shape] = {}
        self.order: list[str] = []
        self.record = True

    async def call(
        self,
        name: str,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> bytes:
        payload = orjson.dumps(body) if body is not None else raw
        sent = {**(self.json_headers if payload is not None else self.headers), **(headers or {})}
        async with self.session.request(method, path, data=payload, headers=sent, params=params) as answer:
            data = await answer.read()
            status = answer.status
        if self.record:
            shape = self.shapes.get(name)
            if shape is None:
                shape = self.shapes[name] = Shape(method)
                self.order.append(name)
            shape.add(len(payload or b""), len(data))
        if status >= 300:
            raise HttpFailure(name, status, data)
        return data

    async def json(self, name: str, method: str, path: str, **kwargs: Any) -> Any:
        return orjson.loads(await self.call(name, method, path, **kwargs))

    def wire_shape(self) -> list[dict[str, Any]]:
        """The operation's requests in order, with their mean sizes."""
        shaped = []
        for name in self.order:
            request_bytes, response_bytes = self.shapes[name].mean()
            shaped.append(
                {"name": name, "method": self.shapes[name].method, "request": request_bytes, "response": response_bytes}
            )
        return shaped


def session(base_url: str, concurrency: int) -> aiohttp.ClientSession:
    # Idle connections are dropped before uvicorn's own keep-alive timeout (5 s) closes them: otherwise a request
    # can be sent on a connection the server is closing, and fail with a reset that is no fault of the server.
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=0, keepalive_timeout=3)
    return aiohttp.ClientSession(
        base_url=base_url,
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=None),
        auto_decompress=False,
    )


Operation = Callable[[int], Awaitable[None]]


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (q in 0..1)."""
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class Record:
    intended: float  # seconds from the step's start
    latency: float
    kind: str


@dataclass
class StepResult:
    label: str
    offered_rate: float
    duration: float
    sent: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    achieved: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)
    error_latency_ms: dict[str, float] = field(default_factory=dict)
    generator_lag_ms: float = 0.0
    generator_cpu: float = 0.0
    peak_in_flight: int = 0
    error_samples: list[str] = field(default_factory=list)
    timeline: list[dict[str, float]] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return self.sent - self.counts.get(OK, 0)

    @property
    def error_rate(self) -> float:
        return self.errors / self.sent if self.sent else 0.0

    def document(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "offeredRate": self.offered_rate,
            "durationSeconds": self.duration,
            "sent": self.sent,
            "counts": self.counts,
            "errorRate": self.error_rate,
            "achieved": self.achieved,
            "latencyMs": self.latency_ms,
            "errorLatencyMs": self.error_latency_ms,
            "generatorLagMs": self.generator_lag_ms,
            "generatorCpu": self.generator_cpu,
            "peakInFlight": self.peak_in_flight,
            "errorSamples": self.error_samples,
            "timeline": self.timeline,
        }


def _summarise(
    label: str, rate: float, duration: float, records: list[Record], completions: list[float], extra: dict[str, Any]
) -> StepResult:
    result = StepResult(label=label, offered_rate=rate, duration=duration, sent=len(records), **extra)
    counts = Counter(r.kind for r in records)
    result.counts = {kind: counts.get(kind, 0) for kind in KINDS}
    # Throughput: completions of successful operations per second over the step, leaving out its first tenth
    # (while the pipeline fills); at a rate the server keeps up with this is the offered rate, past it, the
    # server's capacity.
    start = 0.1 * duration
    window = [t for t in completions if start <= t <= duration]
    result.achieved = len(window) / (duration - start) if duration > start else 0.0
    every = sorted(r.latency for r in records)
    failed = sorted(r.latency for r in records if r.kind != OK)
    result.latency_ms = _percentiles(every)
    result.error_latency_ms = _percentiles(failed) if failed else {}
    result.timeline = _timeline(records, duration)
    return result


def _percentiles(ordered: list[float]) -> dict[str, float]:
    return {
        "p50": 1000 * percentile(ordered, 0.50),
        "p90": 1000 * percentile(ordered, 0.90),
        "p99": 1000 * percentile(ordered, 0.99),
        "p99.9": 1000 * percentile(ordered, 0.999),
        "max": 1000 * ordered[-1],
        "mean": 1000 * sum(ordered) / len(ordered),
    }


def _timeline(records: list[Record], duration: float) -> list[dict[str, float]]:
    """Per second of intended start: operations, failures and the p99 of their latencies."""
    buckets: dict[int, list[Record]] = defaultdict(list)
    for record in records:
        buckets[int(record.intended)].append(record)
    rows = []
    for second in range(math.ceil(duration)):
        found = buckets.get(second, [])
        ordered = sorted(r.latency for r in found)
        rows.append(
            {
                "second": second,
                "sent": len(found),
                "errors": sum(1 for r in found if r.kind != OK),
                "p99Ms": 1000 * percentile(ordered, 0.99) if ordered else math.nan,
            }
        )
    return rows


async def open_loop(
    operation: Operation,
    phases: list[tuple[str, float, float]],
    *,
    operation_timeout: float,
    first_index: int = 0,
) -> list[StepResult]:
    """Run ``phases`` (label, rate, seconds) back to back at fixed arrival rates, with no pause between them (an
    overload phase followed by a recovery phase sees the overload's backlog). Waits for every operation to end
    (each is bounded by ``operation_timeout`` from its intended start). Answers one result per phase."""
    loop = asyncio.get_running_loop()
    # perf_counter, not loop.time(): uvloop's clock has millisecond resolution and is read once per iteration.
    clock = time.perf_counter
    begin = clock() + 0.05
    records: list[list[Record]] = [[] for _ in phases]
    completions: list[list[float]] = [[] for _ in phases]
    lags: list[list[float]] = [[] for _ in phases]
    peaks = [0] * len(phases)
    samples: list[list[str]] = [[] for _ in phases]
    in_flight: set[asyncio.Task[None]] = set()

    async def one(phase: int, index: int, phase_start: float, due: float) -> None:
        kind = OK
        try:
            async with asyncio.timeout(due + operation_timeout - clock()):
                await operation(index)
        except HttpFailure as failure:
            kind = failure.kind
            if len(samples[phase]) < ERROR_SAMPLES:
                samples[phase].append(failure.sample())
        except TimeoutError:
            kind = TIMEOUT
        except (aiohttp.ClientError, OSError) as error:
            kind = CONNECTION
            if len(samples[phase]) < ERROR_SAMPLES:
                samples[phase].append(f"connection: {error!r}"[:300])
        except Exception as error:
            kind = HARNESS
            if len(samples[phase]) < ERROR_SAMPLES:
                samples[phase].append(f"harness: {error!r}"[:300])
        end = clock()
        records[phase].append(Record(due - phase_start, end - due, kind))
        if kind == OK:
            completions[phase].append(end - phase_start)

    index = first_index
    phase_start = begin
    cpu: list[float] = []
    for number, (_label, rate, seconds) in enumerate(phases):
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        count = round(rate * seconds)
        for i in range(count):
            due = phase_start + i / rate
            delay = due - clock()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                lags[number].append(-delay)
            task = loop.create_task(one(number, index, phase_start, due))
            index += 1
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
            peaks[number] = max(peaks[number], len(in_flight))
        phase_start += seconds
        # Sleep out the phase's last interval so the next phase starts on time.
        delay = phase_start - clock()
        if delay > 0:
            await asyncio.sleep(delay)
        cpu.append((time.process_time() - cpu_start) / max(1e-9, time.perf_counter() - wall_start))
    if in_flight:
        await asyncio.wait(set(in_flight), timeout=operation_timeout + 5)
    for task in list(in_flight):
        task.cancel()

    results = []
    for number, (label, rate, seconds) in enumerate(phases):
        lag = sorted(lags[number])
        extra = {
            "generator_lag_ms": 1000 * percentile(lag, 0.99) if lag else 0.0,
            "generator_cpu": cpu[number],
            "peak_in_flight": peaks[number],
            "error_samples": samples[number],
        }
        results.append(_summarise(label, rate, seconds, records[number], completions[number], extra))
    return results


async def closed_loop(
    operation: Operation, *, concurrency: int, duration: float, operation_timeout: float
) -> dict[str, float]:
    """``concurrency`` workers running ``operation`` back to back for ``duration`` seconds. Answers the rate of
    successful operations, and of failed ones."""
    clock = time.perf_counter
    deadline = clock() + duration
    done = [0, 0]
    counter = iter(range(1 << 62))

    async def worker() -> None:
        while clock() < deadline:
            try:
                async with asyncio.timeout(operation_timeout):
                    await operation(next(counter))
                done[0] += 1
            except Exception:
                done[1] += 1

    start = clock()
    await asyncio.wait_for(
        asyncio.gather(*(worker() for _ in range(concurrency))), timeout=duration + operation_timeout + 5
    )
    elapsed = clock() - start
    return {"opsPerSecond": done[0] / elapsed, "failuresPerSecond": done[1] / elapsed, "seconds": elapsed}
