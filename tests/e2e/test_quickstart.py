"""The README's quickstart, followed as a new user would: a fresh clone, the documented command, real HTTP.

The clone holds only what is committed, so a file that exists only in a working copy cannot make this pass.
The command builds its own ``.venv`` inside the clone; the interpreter running these tests is not used by the
server.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import PROJECT_ROOT, create_postgres_database, drop_postgres_database
from tests.processes import free_port

pytestmark = pytest.mark.e2e

MARKER = "<!-- quickstart:serve -->"
# The first start creates a virtualenv and installs the engine into it.
FIRST_START_SECONDS = 420
LATER_START_SECONDS = 240
READY_SECONDS = 60
STOP_SECONDS = 30

CREDENTIAL_LINES = {
    "api_key": "API key:",
    "admin_client_id": "Admin client id:",
    "admin_client_secret": "Admin client secret:",
    "pos_client_id": "POS client id:",
    "pos_client_secret": "POS client secret:",
}


@dataclass(frozen=True)
class DemoCredentials:
    api_key: str
    admin_client_id: str
    admin_client_secret: str
    pos_client_id: str
    pos_client_secret: str


def quickstart_command(readme: Path) -> str:
    """The shell command in the fenced block that follows the quickstart marker."""
    text = readme.read_text(encoding="utf-8")
    assert MARKER in text, f"{readme} has no {MARKER} marker"
    found = re.search(re.escape(MARKER) + r"\s*```[A-Za-z]*\n(.*?)\n```", text, re.DOTALL)
    assert found, f"no fenced code block after {MARKER} in {readme}"
    command = found.group(1).strip()
    assert command
    return command


def new_user_environment(port: int, database_url: str | None) -> dict[str, str]:
    """The caller's environment without this test run's virtualenv or any engine setting, plus the port."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
    for name in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"):
        env.pop(name, None)
    if sys.prefix != sys.base_prefix:
        outer_bin = str(Path(sys.prefix) / "bin")
        env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != outer_bin)
    env["LOYALTY_PORT"] = str(port)
    if database_url is not None:
        env["LOYALTY_DATABASE_URL"] = database_url
    return env


class Server:
    """The quickstart command running in its own process group, its merged output read by a thread."""

    def __init__(self, command: str, cwd: Path, env: dict[str, str]) -> None:
        self.base_url = f"http://127.0.0.1:{env['LOYALTY_PORT']}"
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.process = subprocess.Popen(
            ["bash", "-c", command],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, needle: str, seconds: float) -> str:
        """Collect output until a line contains ``needle``; fail if the process ends or time runs out."""
        deadline = time.monotonic() + seconds
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no line with {needle!r} within {seconds}s; output so far:\n{self.output}")
            try:
                line = self._queue.get(timeout=min(remaining, 1.0))
            except queue.Empty:
                continue
            if line is None:
                code = self.process.wait(timeout=STOP_SECONDS)
                raise AssertionError(f"the server exited ({code}) before printing {needle!r}; output:\n{self.output}")
            self.lines.append(line)
            if needle in line:
                return line

    def wait_until_ready(self) -> None:
        """Poll /readyz until the engine answers that its database is at head."""
        deadline = time.monotonic() + READY_SECONDS
        last = "no answer"
        with httpx.Client(base_url=self.base_url, timeout=5) as http:
            while time.monotonic() < deadline:
                assert self.process.poll() is None, f"the server exited; output:\n{self.output}"
                try:
                    answer = http.get("/readyz")
                except httpx.TransportError as error:
                    last = repr(error)
                else:
                    if answer.status_code == 200 and answer.json()["data"]["ready"] is True:
                        return
                    last = f"{answer.status_code} {answer.text}"
                time.sleep(0.2)
        raise AssertionError(f"not ready within {READY_SECONDS}s (last: {last}); output:\n{self.output}")

    def stop(self) -> None:
        """Terminate the whole process group (bash, pip, the engine), then reap it."""
        if self.process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=STOP_SECONDS)
        # Children that outlived the group leader (none expected) are ended too.
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self._reader.join(timeout=STOP_SECONDS)
        if self.process.stdout is not None:
            self.process.stdout.close()
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.lines.append(line)


@contextmanager
def running(command: str, cwd: Path, env: dict[str, str]) -> Iterator[Server]:
    server = Server(command, cwd, env)
    try:
        yield server
    finally:
        server.stop()


def read_credentials(server: Server, seconds: float) -> DemoCredentials:
    """Read the first start's output up to the documentation line and pick the printed credentials out."""
    server.wait_for_line("API documentation", seconds)
    found: dict[str, str] = {}
    for field, label in CREDENTIAL_LINES.items():
        matches = [m.group(1) for line in server.lines if (m := re.match(rf"\s*{re.escape(label)}\s+(\S+)\s*$", line))]
        assert len(matches) == 1, f"expected one {label!r} line; output:\n{server.output}"
        found[field] = matches[0]
    return DemoCredentials(**found)


def token(http: httpx.Client, api_key: str, client_id: str, secret: str) -> str:
    answer = http.post(
        "/v1/oauth/token",
        headers={"X-Api-Key": api_key},
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert answer.status_code == 200, answer.text
    document = answer.json()
    assert document["token_type"].lower() == "bearer"
    return str(document["access_token"])


def headers(api_key: str, bearer: str) -> dict[str, str]:
    return {"X-Api-Key": api_key, "Authorization": f"Bearer {bearer}"}


def first_calls(base_url: str, demo: DemoCredentials) -> str:
    """The README's first calls: a member (with the demo's sign-up bonus), +100 then -30, the wallet and the
    ledger; the till's limits.

    Returns the member's authIdentifier.
    """
    actor = f"idp-ada-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=base_url, timeout=30) as http:
        admin = headers(demo.api_key, token(http, demo.api_key, demo.admin_client_id, demo.admin_client_secret))
        pos = headers(demo.api_key, token(http, demo.api_key, demo.pos_client_id, demo.pos_client_secret))

        created = http.post(
            "/v1/users",
            headers=admin,
            json={
                "profile": {"givenName": "Ada", "familyName": "Lovelace", "emailAddress": f"{actor}@example.com"},
                "authIdentifier": actor,
            },
        )
        assert created.status_code == 200, created.text
        member = created.json()["data"]
        assert member["authIdentifier"] == actor
        assert re.fullmatch(r"[1-9]\d{6}", member["accountNumber"]), member

        credit = {"actorId": actor, "points": 100, "comment": "welcome"}
        earned = http.post(
            "/v1/commands/adjust_points", headers={**admin, "Idempotency-Key": f"welcome-{actor}"}, json=credit
        )
        assert earned.status_code == 200, earned.text
        entry = earned.json()["data"]
        assert entry["delta"] == 100
        assert entry["balanceAfter"] == 150  # the demo program's sign-up bonus (50) came first
        assert entry["impactType"] == "EARN"
        assert entry["userId"] == member["id"]

        # A retry with the same key answers the same entry and writes nothing new.
        replayed = http.post(
            "/v1/commands/adjust_points", headers={**admin, "Idempotency-Key": f"welcome-{actor}"}, json=credit
        )
        assert replayed.status_code == 200, replayed.text
        assert replayed.json()["data"] == entry

        spent = http.post(
            "/v1/commands/adjust_points",
            headers=admin,
            json={"actorId": actor, "points": -30, "liabilityHandlingPolicy": "REJECT_EVENT"},
        )
        assert spent.status_code == 200, spent.text
        assert spent.json()["data"]["delta"] == -30
        assert spent.json()["data"]["balanceAfter"] == 120
        assert spent.json()["data"]["impactType"] == "SPEND"

        overdraw = http.post(
            "/v1/commands/adjust_points",
            headers=admin,
            json={"actorId": actor, "points": -121, "liabilityHandlingPolicy": "REJECT_EVENT"},
        )
        assert overdraw.status_code == 422, overdraw.text
        assert overdraw.json()["data"]["code"] == "INSUFFICIENT_POINTS"

        wallet = http.get(f"/v1/users/{actor}/wallet", headers=admin)
        assert wallet.status_code == 200, wallet.text
        assert wallet.json()["data"]["points"] == 120
        assert wallet.json()["data"]["lifetimeEarn"] == 150
        assert wallet.json()["data"]["user"]["id"] == member["id"]

        ledger = http.get(f"/v1/users/{member['id']}/points", headers=admin)
        assert ledger.status_code == 200, ledger.text
        entries = ledger.json()["data"]
        assert [(e["delta"], e["balanceAfter"]) for e in entries] == [(-30, 120), (100, 150), (50, 50)]
        assert ledger.json()["meta"]["total"] == 3

        # The till reads the wallet by account number but may not adjust points.
        till_wallet = http.get(f"/v1/users/{member['accountNumber']}/wallet", headers=pos)
        assert till_wallet.status_code == 200, till_wallet.text
        assert till_wallet.json()["data"]["points"] == 120
        refused = http.post("/v1/commands/adjust_points", headers=pos, json={"actorId": actor, "points": 5})
        assert refused.status_code == 403, refused.text
        assert refused.json()["status"] == "fail"
        assert refused.json()["data"]["code"] == "FORBIDDEN"
        after = http.get(f"/v1/users/{actor}/wallet", headers=pos)
        assert after.json()["data"]["points"] == 120
    return actor


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh clone of the repository: committed files only."""
    target = tmp_path_factory.mktemp("quickstart") / "loyalty"
    subprocess.run(
        ["git", "clone", "--quiet", "--no-hardlinks", str(PROJECT_ROOT), str(target)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return target


@pytest.fixture(scope="module")
def command(clone: Path) -> str:
    return quickstart_command(clone / "README.md")


def test_the_quickstart_command_serves_the_engine(command: str):
    assert "loyalty serve" in command
    assert ".venv" in command


def test_quickstart_on_sqlite(clone: Path, command: str):
    database = clone / "var" / "loyalty.db"
    assert not database.exists()

    with running(command, clone, new_user_environment(free_port(), None)) as server:
        demo = read_credentials(server, FIRST_START_SECONDS)
        assert "database: sqlite:///var/loyalty.db" in server.output
        server.wait_until_ready()
        actor = first_calls(server.base_url, demo)
    assert server.process.returncode is not None
    assert database.is_file()
    assert (clone / ".venv" / "bin" / "loyalty").is_file()

    # A second start on the same database keeps the demo tenant and prints no new credentials.
    with running(command, clone, new_user_environment(free_port(), None)) as again:
        again.wait_for_line("Uvicorn running on", LATER_START_SECONDS)
        again.wait_until_ready()
        assert "database: sqlite:///var/loyalty.db" in again.output
        assert "Demo tenant created" not in again.output
        for label in CREDENTIAL_LINES.values():
            assert label not in again.output
        with httpx.Client(base_url=again.base_url, timeout=30) as http:
            admin = headers(demo.api_key, token(http, demo.api_key, demo.admin_client_id, demo.admin_client_secret))
            wallet = http.get(f"/v1/users/{actor}/wallet", headers=admin)
            assert wallet.status_code == 200, wallet.text
            assert wallet.json()["data"]["points"] == 120
            assert wallet.json()["data"]["lifetimeEarn"] == 150


def test_quickstart_on_postgresql(clone: Path, command: str, postgres_ready: bool):
    if not postgres_ready:
        pytest.skip("PostgreSQL not reachable")
    url = create_postgres_database()
    try:
        with running(command, clone, new_user_environment(free_port(), url)) as server:
            # Credentials are printed only for an empty database: this proves the server uses the new one.
            demo = read_credentials(server, FIRST_START_SECONDS)
            assert "database: postgresql://" in server.output
            server.wait_until_ready()
            first_calls(server.base_url, demo)
    finally:
        drop_postgres_database(url)
