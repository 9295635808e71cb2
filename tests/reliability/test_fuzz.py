"""The ingest front end under fuzzing: mutated real files never crash convert_file/build_regulation (only
IngestErrors), each finishes within the bound. Budget: 40 s in the short form, 120 s with LAWSEARCH_STRESS=full,
or LAWSEARCH_FUZZ_SECONDS (tests/stress.py)."""
from __future__ import annotations

import os

import pytest

from evaluation.fuzz import MUTATIONS, load_seeds, run_fuzz, try_input
from ingest.converters import ConvertLimits
from tests.stress import budget as stress_budget

PER_FILE_BOUND = 30.0


@pytest.mark.integration
@pytest.mark.stress
def test_fuzz_no_crash_bounded_time(corpus_dir, tmp_path):
    budget = stress_budget("LAWSEARCH_FUZZ_SECONDS", short=40, full=120)
    seed = int(os.environ.get("LAWSEARCH_FUZZ_SEED", "20261126"))
    r = run_fuzz(budget, seed, tmp_path, corpus_dir=corpus_dir, per_file_bound=PER_FILE_BOUND)
    assert r["crashes"] == [], r["crashes"]
    assert r["max_seconds"] < PER_FILE_BOUND, r["slowest"]
    assert r["max_rss_growth_mb"] < 2048, r["biggest"]
    assert r["inputs"] >= min(50, budget), r
    if r["inputs"] >= 100:  # ≈ 170 inputs in 40 s here; 100 random picks miss one of 12 mutations by ≈ 0.4 %
        assert set(r["by_mutation"]) == set(MUTATIONS), "every mutation was tried"
    # Both outcomes occur: mutations are not all rejected up front, and not all harmless.
    assert r["outcomes"].get("ok", 0) > 0 and r["outcomes"].get("corrupt_file", 0) > 0
    assert (tmp_path / "fuzz-report.json").exists()


@pytest.mark.integration
def test_seeds_cover_every_format(corpus_dir):
    exts = {s.ext for s in load_seeds(corpus_dir)}
    assert {".pdf", ".docx", ".html", ".md", ".txt"} <= exts


@pytest.mark.integration
def test_a_hang_counts_as_a_crash(corpus_dir, tmp_path):
    # The detector itself: a conversion that runs past the bound is reported, not waited for.
    big = tmp_path / "big.txt"
    big.write_bytes("某条例\n".encode() + "第一条 内容。\n".encode() * 400000)
    outcome, err = try_input(big, limits=ConvertLimits(ocr_enabled=False), per_file_bound=0.05)
    assert outcome == "crash" and "timeout" in err
    outcome, _ = try_input(corpus_dir / "xuzhou" / "徐州市质量促进条例.md", limits=ConvertLimits(),
                           per_file_bound=PER_FILE_BOUND)
    assert outcome == "ok"
    empty = tmp_path / "e.md"
    empty.write_bytes(b"")
    assert try_input(empty, limits=ConvertLimits(), per_file_bound=5)[0] == "empty_file"
