"""Searches of one process take turns, in the order they arrive.

A search is ≈20 ms of CPU that holds the interpreter lock nearly throughout (the engine's call does not release
it), so threads searching at once gain nothing from running together: they only interleave, and the interpreter
hands its lock around unfairly (a thread that just released it often takes it back), so a search may wait through
many others' slices. One at a time and first come, first served, each search waits only for those that came before
it (measured with `lawsearch bench reingest-load`: README, performance).
"""
from __future__ import annotations

import threading
import time
from collections import deque


class Turns:
    """A lock granted in arrival order: `with turns:` waits for the callers that came before."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._waiting: deque[threading.Lock] = deque()
        self._busy = False
        self._arrived = 0  # callers so far, and those done: a writer waits for the ones there when it asks
        self._done = 0

    def __enter__(self) -> "Turns":
        with self._guard:
            self._arrived += 1
            if not self._busy:
                self._busy = True
                return self
            mine = threading.Lock()
            mine.acquire()
            self._waiting.append(mine)
        mine.acquire()  # released by the caller before this one, which hands the turn over
        return self

    def __exit__(self, *exc) -> None:
        with self._guard:
            self._done += 1
            if self._waiting:
                self._waiting.popleft().release()  # still busy: the turn passes to the next in line
            else:
                self._busy = False

    @property
    def busy(self) -> bool:
        return self._busy

    def give_way(self, pause_s: float, *, max_s: float = 0.05) -> None:
        """For a writer in the same process, between its steps: sleep `pause_s`, then until the searches running
        or waiting when it asked are done (not those arriving later: under a steady stream of searches the writer
        still moves), at most `max_s` in all."""
        time.sleep(pause_s)
        target = self._arrived
        end = time.monotonic() + max_s
        while self._done < target and time.monotonic() < end:
            time.sleep(0.001)
