"""`lawsearch` run as a child process for kill -9 tests, with observation hooks only (the real CLI, pipeline and
engine run unchanged):

* a line ``@@write <n>`` on stderr when the n-th regulation version starts being written;
* with ``LAWSEARCH_CRASH_GATE=1``: once a write has started, before every store mutation (upsert, delete,
  delete_ids, set_payload) a line ``@@op <n> <name>`` on stderr, then the child waits for one byte on stdin.
  The parent answers to let it go on, or kills it there: a SIGKILL at an exact step of a version write.

    python -m tests.reliability.crash_child ingest FILES... --no-train
"""
from __future__ import annotations

import os
import sys


def _say(text: str) -> None:
    os.write(2, (text + "\n").encode())


def main(argv: list[str] | None = None) -> int:
    from corpus.index import ArticleIndex
    from corpus.store.edge import EdgeStore

    state = {"writes": 0, "ops": 0}
    real_write = ArticleIndex.write_version

    def write_version(self, record, points, **kw):
        state["writes"] += 1
        _say(f"@@write {state['writes']}")
        return real_write(self, record, points, **kw)

    ArticleIndex.write_version = write_version
    if os.environ.get("LAWSEARCH_CRASH_GATE") == "1":
        for name in ("upsert", "delete", "delete_ids", "set_payload"):
            real = getattr(EdgeStore, name)

            def gated(self, *a, _real=real, _name=name, **kw):
                if state["writes"]:
                    state["ops"] += 1
                    _say(f"@@op {state['ops']} {_name}")
                    if not os.read(0, 1):
                        os._exit(3)
                return _real(self, *a, **kw)

            setattr(EdgeStore, name, gated)
    from cli.main import main as cli_main

    return cli_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
