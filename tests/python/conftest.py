"""Fixtures: mock upstreams, and one real `sluice` gateway per test module routed to them.

The gateway binary is `$SLUICE_BIN` (default: target/debug/sluice in the workspace).
"""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

try:  # the SDKs' HTTP client: httpx2 in current releases, httpx before
    import httpx2 as httpx
except ImportError:  # pragma: no cover
    import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from mock_upstreams import AnthropicUpstream, GeminiUpstream, OpenAIUpstream  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
WAIT = 10.0

UPSTREAM_OPENAI_KEY = "sk-upstream-openai-key"
UPSTREAM_GOOGLE_KEY = "test-google-key-0123456789"
UPSTREAM_ANTHROPIC_KEY = "sk-ant-test"
ANTHROPIC_BACKEND_MODEL = "claude-sonnet-4-5"

CONFIG = """\
name: sluice
config:
  adminAddr: 127.0.0.1:{admin}
  gracePeriod: 10s
listeners:
  - name: http
    bind: 127.0.0.1:{listener}
    routes:
      - name: openai
        match: {{pathPrefix: /openai}}
        backend: openai
      - name: gemini
        match: {{pathPrefix: /gemini}}
        backend: gemini
      - name: anthropic
        match: {{pathPrefix: /anthropic}}
        backend: anthropic
      - name: mock
        match: {{pathPrefix: /mock}}
        backend: mock
      - name: google
        match: {{pathPrefix: /google}}
        backend: google
backends:
  - name: openai
    provider: openai
    apiKey: $PY_TEST_OPENAI_KEY
    baseUrl: {openai_base}/v1
  - name: gemini
    provider: gemini
    model: gemini-2.0-flash
    apiVersion: v1beta
    apiKey: {{env: PY_TEST_GOOGLE_KEY}}
    baseUrl: {gemini_base}
  - name: anthropic
    provider: anthropic
    model: {anthropic_model}
    apiKey: {anthropic_key}
    baseUrl: {anthropic_base}
  - name: mock
    provider: mock
    model: mock-1
  # Gemini with neither model nor apiVersion pinned: the client's model (and version) pass.
  - name: google
    provider: gemini
    apiKey: {{env: PY_TEST_GOOGLE_KEY}}
    baseUrl: {gemini_base}
"""


_HELD_PORT_LOCKS = []
_NEXT_PORT = itertools.count(os.getpid() * 7919)


def free_port() -> int:
    """A free port below the ephemeral range (so no `bind(:0)` or client socket takes it before
    the gateway binds), reserved with the same lock files as the Rust harness's `free_port`."""
    lock_dir = os.path.join(tempfile.gettempdir(), "sluice-test-ports")
    os.makedirs(lock_dir, exist_ok=True)
    for _ in range(12000):
        port = 20000 + next(_NEXT_PORT) % 12000
        f = open(os.path.join(lock_dir, f"{port}.lock"), "w")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            with socket.socket() as s:
                s.bind(("127.0.0.1", port))
        except OSError:
            f.close()
            continue
        _HELD_PORT_LOCKS.append(f)
        return port
    raise RuntimeError("no free port left in 20000-31999")


_KV = re.compile(r'(\S+?)=("(?:[^"\\]|\\.)*"|\S*)')


def parse_log_line(line: str) -> dict[str, str]:
    """`info request k=v k="quoted v" ...` → {k: v} (quotes kept on quoted values)."""
    return {m.group(1): m.group(2) for m in _KV.finditer(line.split(" ", 2)[2])}


@dataclass
class Sent:
    """A request as an SDK sent it to the gateway."""

    path: str
    query: str
    headers: dict[str, str]
    content: bytes

    def json(self):
        return json.loads(self.content)


class Gateway:
    def __init__(self, binary: str, config: str, env: dict[str, str], listener: int, admin: int):
        self.listener = listener
        self.admin = admin
        self._dir = tempfile.TemporaryDirectory(prefix="sluice-py-")
        self.config_path = Path(self._dir.name) / "config.yaml"
        self.config_path.write_text(config)
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(
            [binary, "run", "-c", str(self.config_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **env},
            text=True,
            bufsize=1,
        )
        self.stderr: list[str] = []
        threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.proc.stderr, self.stderr), daemon=True).start()
        # What the SDK clients saw: (path, status) per HTTP response, via httpx event hooks.
        self.responses: list[tuple[str, int]] = []
        # What the SDK clients sent: one `Sent` per HTTP request, in order.
        self.sent: list[Sent] = []
        self._wait_ready()

    def _pump(self, stream, sink: list[str]) -> None:
        for line in stream:
            with self._lock:
                sink.append(line.rstrip("\n"))

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        url = f"http://127.0.0.1:{self.admin}/readyz"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                time.sleep(0.2)
                raise RuntimeError(
                    f"sluice exited with {self.proc.returncode} before ready:\n"
                    + "\n".join(self.stdout_lines() + self.stderr)
                )
            try:
                with urllib.request.urlopen(url, timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("sluice not ready after 30s:\n" + "\n".join(self.stdout_lines() + self.stderr))

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.listener}{path}"

    def stdout_lines(self) -> list[str]:
        with self._lock:
            return list(self.lines)

    def request_logs(self) -> list[dict[str, str]]:
        return [parse_log_line(l) for l in self.stdout_lines() if l.startswith("info request ")]

    def wait_for_request_logs(self, n: int, timeout: float = WAIT) -> list[dict[str, str]]:
        deadline = time.monotonic() + timeout
        while True:
            logs = self.request_logs()
            if len(logs) >= n or time.monotonic() > deadline:
                return logs
            time.sleep(0.05)

    def _on_request(self, req: httpx.Request) -> None:
        self.sent.append(Sent(req.url.path, req.url.query.decode(), dict(req.headers), req.content))

    def _on_response(self, resp: httpx.Response) -> None:
        self.responses.append((resp.request.url.path, resp.status_code))

    def http_client(self) -> httpx.Client:
        """An httpx client for the SDKs that records every request it sends (`sent`) and every
        response's path and status (`responses`)."""
        return httpx.Client(event_hooks={"request": [self._on_request], "response": [self._on_response]},
                            timeout=30)

    def async_http_client(self) -> httpx.AsyncClient:
        """`http_client`, for the SDKs' async clients (the Agents SDK)."""

        async def on_request(req: httpx.Request) -> None:
            self._on_request(req)

        async def on_response(resp: httpx.Response) -> None:
            self._on_response(resp)

        return httpx.AsyncClient(event_hooks={"request": [on_request], "response": [on_response]}, timeout=30)

    def last_sent(self, path_suffix: str) -> Sent:
        """The last request an SDK sent whose path ends with `path_suffix`."""
        mine = [s for s in self.sent if s.path.endswith(path_suffix)]
        assert mine, f"no request to ...{path_suffix} was sent: {[s.path for s in self.sent]}"
        return mine[-1]

    def expected_log_keys(self) -> Counter:
        return Counter(self.responses)

    def terminate(self, timeout: float = 15) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._dir.cleanup()


def sluice_bin() -> str:
    b = os.environ.get("SLUICE_BIN") or str(ROOT / "target" / "debug" / "sluice")
    if not Path(b).is_file():
        pytest.fail(f"sluice binary not found at {b}; build it (cargo build -p sluice-gateway --bin sluice) or set SLUICE_BIN")
    return b


@pytest.fixture(scope="module")
def openai_upstream():
    up = OpenAIUpstream()
    yield up
    up.close()


@pytest.fixture(scope="module")
def gemini_upstream():
    up = GeminiUpstream()
    yield up
    up.close()


@pytest.fixture(scope="module")
def anthropic_upstream():
    up = AnthropicUpstream()
    yield up
    up.close()


@pytest.fixture(scope="module")
def gateway(openai_upstream, gemini_upstream, anthropic_upstream):
    listener, admin = free_port(), free_port()
    config = CONFIG.format(
        admin=admin,
        listener=listener,
        openai_base=openai_upstream.base_url,
        gemini_base=gemini_upstream.base_url,
        anthropic_base=anthropic_upstream.base_url,
        anthropic_model=ANTHROPIC_BACKEND_MODEL,
        anthropic_key=UPSTREAM_ANTHROPIC_KEY,
    )
    gw = Gateway(
        sluice_bin(),
        config,
        {"PY_TEST_OPENAI_KEY": UPSTREAM_OPENAI_KEY, "PY_TEST_GOOGLE_KEY": UPSTREAM_GOOGLE_KEY},
        listener,
        admin,
    )
    yield gw
    gw.close()
