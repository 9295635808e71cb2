"""A real `lawsearch serve` for tests: the command line started as a child process on a free local port over a
data directory, as a user starts it, and stopped after (with everything it started)."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(data_dir: Path, *args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """`lawsearch --data-dir DATA ARGS…` run from this checkout; returns the finished process (text output)."""
    return subprocess.run([sys.executable, "-m", "cli.main", "--data-dir", str(data_dir), *args], cwd=REPO,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout,
                          check=False)


@contextmanager
def served(data_dir: Path, *, env: dict | None = None, start_timeout: float = 180) -> Iterator[str]:
    """`lawsearch serve` on `data_dir` on a free port; yields its URL once /healthz answers "ok"."""
    port = free_port()
    log = open(Path(data_dir).parent / f"serve-{port}.log", "w", encoding="utf-8")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "--data-dir", str(data_dir), "serve",
                             "--port", str(port)], cwd=REPO, env={**os.environ, **(env or {})},
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if proc.poll() is not None:
                log.flush()
                raise RuntimeError("lawsearch serve exited: " + Path(log.name).read_text(encoding="utf-8")[-2000:])
            try:
                if httpx.get(url + "/healthz", timeout=5, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"lawsearch serve did not answer within {start_timeout} s")
            time.sleep(0.3)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


def admin_env(key: str) -> dict:
    return {"LAWSEARCH_API_KEYS": json.dumps({key: "admin"})}
