"""The child side of service/children.py: `python -m service.training_child embedder|ranker|optimize JOB` runs
one step of the first ingest with the arguments its parent pickled into JOB, and exits."""
from __future__ import annotations

import pickle
import sys
from pathlib import Path


def _embedder(job: dict) -> None:
    from corpus.training import train_static_embedder
    from ingest.pipeline import read_spill

    articles = (a for reg in read_spill(job["spill"], job["count"]) for a in reg.articles)
    train_static_embedder(articles, data_dir=Path(job["data_dir"]), question_records=job["questions"],
                          progress=job["progress"])


def _ranker(job: dict) -> None:
    from corpus.settings import Settings
    from service.runtime import Runtime

    rt = Runtime.open(Settings(**job["settings"]))
    try:
        rt.train_ranker(progress=job["progress"])
    finally:
        rt.close()


def _optimize(job: dict) -> None:
    from corpus.settings import Settings
    from service.runtime import Runtime

    rt = Runtime.open(Settings(**job["settings"]))
    try:
        rt.index.articles.optimize()
    finally:
        rt.close()


def main(argv: list[str]) -> int:
    kind, path = argv
    with open(path, "rb") as fh:
        job = pickle.load(fh)  # written by this package's parent process just before
    {"embedder": _embedder, "ranker": _ranker, "optimize": _optimize}[kind](job)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
