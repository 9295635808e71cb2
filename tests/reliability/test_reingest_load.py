"""Reads during writes: searches and regulation reads from other threads while one Runtime re-ingests.

Each scenario runs `evaluation.reingest_load.run_reingest_load` on a small real index: client threads search
(questions and citations), a checker thread reads fixed regulations (current points, regulation-filtered search,
citations with their text), and — so that every intermediate state of the write is read whatever the scheduling —
the same checks run after every store mutation of the ingest. Asserted: no error, no article twice in a result, no
article of those regulations missing or changed, and the re-ingest really replaced what it should. The figures of
the full-scale run come from `lawsearch bench reingest-load` (README of evaluation, not asserted here).
"""
from __future__ import annotations

import shutil
import signal
from pathlib import Path

import pytest

from evaluation.metrics import load_queries
from evaluation.reingest_load import make_probe, run_reingest_load, shifted_date, successor_copy, with_version_date
from tests.reliability.test_crash import RawIndex, kill_before_step, open_rt, rerun, state

pytestmark = pytest.mark.integration
XUZHOU_QUESTIONS = ["徐州市安全生产条例第二十条", "生产经营单位未履行安全生产教育培训的罚款", "养犬 伤人 责任",
                    "法律援助 申请 条件", "生活垃圾分类投放"]


def build(data: Path, paths: list[Path]) -> Path:
    rt = open_rt(data)
    try:
        s = rt.ingest(paths, progress=False, train=False)
        assert not s.failed and s.points > 0
    finally:
        rt.close()
    return data


@pytest.fixture(scope="module")
def questions(eval_dir) -> list[str]:
    return XUZHOU_QUESTIONS + [q["query"] for q in load_queries(eval_dir / "stard_dev.jsonl")[:40]]


@pytest.fixture(scope="module")
def xuzhou_index(tmp_path_factory, corpus_dir) -> Path:
    return build(tmp_path_factory.mktemp("xuzhou") / "data", [corpus_dir / "xuzhou"])


def assert_clean(out: dict) -> None:
    assert out["errors"] == 0, out["error_samples"]
    assert out["duplicate_results"] == 0, out["duplicate_samples"]
    assert out["violations"] == 0, out["violation_samples"]
    assert out["requests"] > 0 and out["checker_reads"] > 0 and out["step_checks"] > 0


class TestSuccessorCopy:
    def test_version_date_goes_into_front_matter(self):
        assert shifted_date("2024-12-09", 50) == "2074-12-09"
        assert shifted_date("2020-02-29", 50) == "2070-02-28" and shifted_date("2020-02-29", 4) == "2024-02-29"
        assert shifted_date("", 50) is None
        assert with_version_date("# 标题\n", "2074-12-09") == '---\npublish: "2074-12-09 00:00:00"\n---\n\n# 标题\n'
        text = '---\ntitle: "甲"\npublish: "2024-12-09 00:00:00"\n---\n正文\n'
        assert with_version_date(text, "2074-12-09") == '---\ntitle: "甲"\npublish: "2074-12-09 00:00:00"\n---\n正文\n'
        assert with_version_date('---\ntitle: "甲"\n---\n正文', "2074-12-09") == \
            '---\ntitle: "甲"\npublish: "2074-12-09 00:00:00"\n---\n正文'


class TestReadsDuringReingest:
    def test_successor_versions_replace_current_ones_under_load(self, xuzhou_index, tmp_path, corpus_dir,
                                                                questions):
        data = tmp_path / "data"
        shutil.copytree(xuzhou_index, data)
        rt = open_rt(data)
        try:
            probes = [make_probe(rt, "徐州市安全生产条例"), make_probe(rt, "江苏省安全生产条例")]
            # The checks can see a fault: every article by regulation search, five citations each.
            assert all(p.scan and len(p.citations) == 5 for p in probes)
            copy = successor_copy(rt.index, [corpus_dir / "xuzhou"], tmp_path / "successors")
            # 13 files, 10 current versions: the three superseded texts are copied unchanged.
            assert (copy["rewritten"], copy["copied_unchanged"], copy["years"]) == (10, 3, 50)
            out = run_reingest_load(rt, paths=copy["paths"], questions=questions, probes=probes, concurrency=3,
                                    before_s=0.2, after_s=0.2, step_checks=True)
            versions = {r["version_id"]: r for r in rt.index.version_records()}
        finally:
            rt.close()
        assert_clean(out)
        assert out["ingest"]["regulations"] == copy["rewritten"] and out["ingest"]["failed"] == 0
        assert out["probes"]["徐州市安全生产条例"]["version_dates_after"] == ["2074-12-09"]
        assert out["probes"]["江苏省安全生产条例"]["version_dates_after"] == ["2073-03-30"]
        # The old versions are kept, superseded by their successors.
        old = versions["reg-92a9b8cf23fc@2024-12-09"]
        assert not old["is_current"] and old["superseded_by"] == "reg-92a9b8cf23fc@2074-12-09"

    def test_rewrite_in_place_under_load(self, tmp_path, corpus_dir, questions):
        """A corrected file re-ingested from the same path rewrites its version in place (same ids)."""
        folder = tmp_path / "xuzhou"
        shutil.copytree(corpus_dir / "xuzhou", folder)
        data = build(tmp_path / "data", [folder])
        rt = open_rt(data)
        try:
            probes = [make_probe(rt, "徐州市安全生产条例"), make_probe(rt, "江苏省安全生产条例")]
            before = {r["version_id"]: r["sha256"] for r in rt.index.version_records()}
            for f in folder.glob("*.md"):
                f.write_text(f.read_text(encoding="utf-8") + "\n\n", encoding="utf-8")  # new hash, same text
            out = run_reingest_load(rt, paths=[folder], questions=questions, probes=probes, concurrency=3,
                                    before_s=0.2, after_s=0.2, step_checks=True)
            after = {r["version_id"]: r["sha256"] for r in rt.index.version_records()}
            left = rt.index.version_records(state="pending")
        finally:
            rt.close()
        assert_clean(out)
        assert out["ingest"]["regulations"] == len(before) == 13
        assert after.keys() == before.keys() and all(after[v] != before[v] for v in before)
        assert left == []

    def test_volumes_of_a_code_are_replaced_together(self, tmp_path, corpus_dir, questions):
        """民法典 is eight files, one version per volume: the old edition stays current until all new volumes are
        in (flipping volume by volume retired the old edition at the first one: ~1,000 articles missing)."""
        data = build(tmp_path / "data", [corpus_dir / "lawref" / "民法典"])
        rt = open_rt(data)
        try:
            probe = make_probe(rt, "中华人民共和国民法典")
            assert len(probe.articles) == 1260 and probe.current_versions == 8 and len(probe.citations) == 5
            copy = successor_copy(rt.index, [corpus_dir / "lawref" / "民法典"], tmp_path / "successors")
            assert copy["rewritten"] == 8
            out = run_reingest_load(rt, paths=copy["paths"], questions=questions, probes=[probe], concurrency=2,
                                    before_s=0.2, after_s=0.2, step_checks=True)
            current = [r for r in rt.index.version_records() if r["is_current"]]
        finally:
            rt.close()
        assert_clean(out)
        assert len(current) == 8 and {r["version_date"] for r in current} == {"2070-05-28"}


@pytest.mark.slow
def test_kill_at_every_step_of_a_rewrite_in_place(tmp_path, corpus_dir):
    """kill -9 before each store mutation of a rewrite in place: a reader that opens the index as the kill left
    it still finds every article of the version once with its text, and the rerun ends as a clean run does."""
    src = corpus_dir / "xuzhou" / "徐州市安全生产条例_2024修正.md"
    folder = tmp_path / "files"
    folder.mkdir()
    path = folder / src.name
    shutil.copyfile(src, path)
    base = build(tmp_path / "base", [path])
    rt = open_rt(base)
    try:
        texts = {(h.payload["article_no"], h.payload["part"]): h.payload["text"] for h in rt.index.articles.scroll()}
    finally:
        rt.close()
    path.write_text(src.read_text(encoding="utf-8") + "\n\n", encoding="utf-8")
    clean = tmp_path / "clean"
    shutil.copytree(base, clean)
    rerun(clean, [path])
    rt = open_rt(clean)
    try:
        expected = state(rt)
    finally:
        rt.close()
    steps, k = [], 0
    while True:
        k += 1
        data = tmp_path / f"kill{k}"
        returncode, ops = kill_before_step(base, data, path, k)
        if returncode == 0:
            break
        assert returncode == -signal.SIGKILL and len(ops) == k
        raw = RawIndex(data)
        try:
            assert len(raw.index.resolve_title("徐州市安全生产条例")) == 1
            for (no, part), text in texts.items():
                _, hits = raw.index.article("徐州市安全生产条例", no)
                assert [h.payload["text"] for h in hits if h.payload["part"] == part] == [text], (k, no)
            steps.append((k, ops[-1]))
        finally:
            raw.close()
        rerun(data, [path])
        rt = open_rt(data)
        try:
            assert state(rt) == expected, f"rerun after a kill before step {k}"
        finally:
            rt.close()
        shutil.rmtree(data)
        assert k < 20
    assert len(steps) >= 3, steps
