"""Searches of one process take turns in arrival order; a writer gives way to them, within a bound."""
import threading
import time

from service.turns import Turns


def test_callers_get_the_turn_in_the_order_they_came():
    turns, entered = Turns(), []

    def search(n):
        with turns:
            entered.append(n)

    threads = []
    with turns:  # a search runs; five more arrive one after another and wait
        for n in range(5):
            t = threading.Thread(target=search, args=(n,))
            t.start()
            threads.append(t)
            deadline = time.monotonic() + 5
            while len(turns._waiting) < n + 1 and time.monotonic() < deadline:
                time.sleep(0.001)
        assert entered == []  # nobody overtakes the running search
    for t in threads:
        t.join(5)
    assert entered == [0, 1, 2, 3, 4]
    assert not turns.busy


def test_a_writer_gives_way_to_the_searches_there_when_it_asks_but_not_for_ever():
    turns = Turns()
    t0 = time.monotonic()
    turns.give_way(0.0)
    assert time.monotonic() - t0 < 0.05  # nothing to wait for
    with turns:
        t0 = time.monotonic()
        turns.give_way(0.0, max_s=0.1)
        waited = time.monotonic() - t0
    assert 0.1 <= waited < 0.5  # waited for the search, up to the bound: the writer still moves
    released = threading.Event()

    def search():
        with turns:
            time.sleep(0.05)
        released.set()

    threading.Thread(target=search).start()
    while not turns.busy:
        time.sleep(0.001)
    t0 = time.monotonic()
    turns.give_way(0.0, max_s=2.0)
    assert released.wait(1) and time.monotonic() - t0 < 1.0  # the running search done, the writer goes on


def test_a_failing_search_passes_the_turn_on():
    turns = Turns()
    try:
        with turns:
            raise ValueError("坏的查询")
    except ValueError:
        pass
    assert not turns.busy
    with turns:
        assert turns.busy
