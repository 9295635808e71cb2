"""Shared fixtures: where ../shared/corpus lies, and a fresh data directory per test."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("LAWSEARCH_SHARED", REPO.parent / "shared"))
CORPUS = SHARED / "corpus"
EVAL = SHARED / "eval"


def require(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"missing shared data {path}: CI lays ../shared beside the clone")
    return path


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    return require(CORPUS)


@pytest.fixture(scope="session")
def eval_dir() -> Path:
    return require(EVAL)
