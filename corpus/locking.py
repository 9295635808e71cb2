"""A lock that the threads of one process and the worker processes of `lawsearch serve --workers N` share, for the
small files the service rewrites in its data directory (feedback, the 普法清单 fields).

An exclusive `fcntl.flock` on a lock file beside the guarded file, taken after a thread lock. The kernel drops the
flock when its holder dies, so a crash never leaves the file locked. Owned here rather than taken from `filelock`:
the project already holds flocks by hand (service/replicas.py, corpus/store/edge.py), and this is one call.
"""
from __future__ import annotations

import fcntl
import threading
from pathlib import Path
from typing import Self


class FileLock:
    """`with lock:` holds `<path>.lock` exclusively against other threads and other processes (not reentrant)."""

    def __init__(self, path: Path | str):
        self.path = Path(str(path) + ".lock")
        self._thread = threading.Lock()
        self._held = None

    def __enter__(self) -> Self:
        self._thread.acquire()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # opened anew each time: a restored snapshot replaces the data directory, and with it this file
            fh = open(self.path, "a")  # closed in __exit__
            try:
                fcntl.flock(fh, fcntl.LOCK_EX)
            except BaseException:
                fh.close()
                raise
        except BaseException:
            self._thread.release()
            raise
        self._held = fh
        return self

    def __exit__(self, *exc) -> None:
        fh, self._held = self._held, None
        try:
            fh.close()  # closing the only descriptor of the open file releases the flock
        finally:
            self._thread.release()


__all__ = ["FileLock"]
