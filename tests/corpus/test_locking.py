"""The lock the server's worker processes share for the small files of the data directory."""
from __future__ import annotations

import fcntl

import pytest

from corpus.locking import FileLock
from tests.processes import start, wait_for

HOLDER = """
import signal, sys
from pathlib import Path
from corpus.locking import FileLock
with FileLock(Path(sys.argv[1])):
    Path(sys.argv[2]).touch()
    signal.pause()  # held until the test kills this process
"""


def _try_flock(lock: FileLock) -> bool:
    with open(lock.path, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


def test_another_process_waits_and_a_crashed_holder_leaves_nothing_locked(tmp_path):
    guarded, held = tmp_path / "data" / "feedback.jsonl", tmp_path / "held"
    holder = start(HOLDER, guarded, held)
    try:
        wait_for(held, holder)
        lock = FileLock(guarded)
        assert lock.path == tmp_path / "data" / "feedback.jsonl.lock"
        assert not _try_flock(lock)
    finally:
        holder.kill()  # a crash: no __exit__ runs
        holder.communicate()
    assert _try_flock(lock)
    with lock:
        assert not _try_flock(lock)  # another open of the file, as another thread or process would make
    assert _try_flock(lock)


def test_an_error_inside_releases_the_lock(tmp_path):
    lock = FileLock(tmp_path / "outreach_fields.json")
    with pytest.raises(ValueError), lock:
        raise ValueError("boom")
    with lock:
        pass
    assert _try_flock(lock)
