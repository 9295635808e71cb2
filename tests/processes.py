"""Small Python snippets run as real processes, for tests of what several server workers do to one data directory."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def start(snippet: str, *args) -> subprocess.Popen:
    """`python -c snippet args…` in the repository root (so that it imports our packages)."""
    return subprocess.Popen([sys.executable, "-c", snippet, *map(str, args)], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen) -> str:
    """The process's standard output, once it has exited with 0 (its standard error is the failure message)."""
    out, err = proc.communicate(timeout=120)  # a guard against a hang, not a timing assertion
    assert proc.returncode == 0, err
    return out


def wait_for(path: Path, proc: subprocess.Popen) -> None:
    """Wait until `proc` has created `path` (its sign that it is running)."""
    while not path.exists():
        assert proc.poll() is None, proc.communicate()[1]
        time.sleep(0.01)


def run_beside(snippet: str, data: Path, workers: list[tuple[str, tuple]], tmp: Path) -> str:
    """Start `snippet data ready done`, wait until it is running, run every worker `(snippet, args)` to the end beside
    it, then tell it to stop (the file `done`) and return its output."""
    ready, done = tmp / "ready", tmp / "done"
    main = start(snippet, data, ready, done)
    wait_for(ready, main)
    procs = [start(s, *args) for s, args in workers]
    for proc in procs:
        finish(proc)
    done.touch()
    return finish(main)
