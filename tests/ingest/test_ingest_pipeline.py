"""The whole ingest on real files, the real engine (Qdrant Edge in a temp dir) and the real CLI."""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from corpus.settings import Settings

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def runtime(data_dir: Path):
    from service.runtime import Runtime

    return Runtime.open(Settings(data_dir=data_dir))


def cli(data_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, LAWSEARCH_DATA_DIR=str(data_dir))
    proc = subprocess.run([sys.executable, "-m", "cli.main", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=900)
    if check and proc.returncode != 0:
        raise AssertionError(f"lawsearch {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc


def index_state(data_dir: Path) -> tuple[set, list]:
    """Everything a user could observe: each point's identity and content, and each version record."""
    rt = runtime(data_dir)
    try:
        points = set()
        for h in rt.index.articles.scroll():
            p = h.payload
            points.add((h.id, p["version_id"], p["article_no"], p["article_suffix"], p["part"], p["text"],
                        p["is_current"]))
        versions = sorted((r["version_id"], r["sha256"], r["is_current"], r.get("superseded_by", ""),
                           r["article_count"]) for r in rt.index.regulations())
    finally:
        rt.close()
    return points, versions


@pytest.fixture(scope="module")
def xuzhou_index(tmp_path_factory, corpus_dir):
    data = tmp_path_factory.mktemp("xuzhou-index")
    proc = cli(data, "ingest", str(corpus_dir / "xuzhou"), str(corpus_dir / "formats"),
               str(corpus_dir / "real-files"), "--json", "--no-train")
    return data, json.loads(proc.stdout)


class TestIngestCorpus:
    def test_every_file_is_indexed(self, xuzhou_index, corpus_dir):
        _, summary = xuzhou_index
        n_files = sum(1 for d in ("xuzhou", "formats", "real-files") for f in (corpus_dir / d).iterdir())
        assert summary["files"] == n_files
        assert summary["failed"] == []
        # Several files hold the same version (法律援助法 as .md/.docx/.pdf/scan): the first, most complete one is
        # its source, the others are recorded as alternates of it.
        assert summary["regulations"] + summary["alternates"] == n_files
        rows = json.loads(cli(xuzhou_index[0], "regulations", "--json").stdout)
        assert len(rows) == 21
        assert sum(1 + len(r["alternates"]) for r in rows) == n_files
        legal_aid = next(r for r in rows if r["title"] == "中华人民共和国法律援助法")
        assert legal_aid["source_path"].endswith(".md") and legal_aid["article_count"] == 71
        assert {Path(a["source_path"]).name for a in legal_aid["alternates"]} == {
            "法律援助法.docx", "法律援助法.pdf", "法律援助法_扫描件.pdf"}

    def test_versions_current_and_superseded(self, xuzhou_index):
        data, _ = xuzhou_index
        rows = json.loads(cli(data, "regulations", "--json").stdout)
        by = {}
        for r in rows:
            by.setdefault(r["title"], []).append(r)
        sc = sorted(by["徐州市安全生产条例"], key=lambda r: r["version_date"])
        assert [r["version_date"][:4] for r in sc] == ["2019", "2024"]
        assert [r["is_current"] for r in sc] == [False, True]
        assert sc[0]["superseded_by"] == sc[1]["version_id"]
        la = sorted(by["江苏省法律援助条例"], key=lambda r: r["version_date"])
        assert [r["version_date"][:4] for r in la] == ["2005", "2024"] and la[1]["is_current"]
        assert not la[0]["is_current"]

    def test_article_prints_the_current_text(self, xuzhou_index, corpus_dir):
        data, _ = xuzhou_index
        out = json.loads(cli(data, "article", "徐州市安全生产条例", "20", "--json").stdout)
        assert out["regulation"]["version_date"].startswith("2024") and out["label"] == "第二十条"
        source = (corpus_dir / "xuzhou" / "徐州市安全生产条例_2024修正.md").read_text(encoding="utf-8")
        first_line = next(line for line in source.splitlines() if line.startswith("第二十条"))
        assert out["text"].split("\n")[0] in first_line
        old = json.loads(cli(data, "article", "徐州市安全生产条例", "第二十条", "--as-of", "2022-01-01", "--json").stdout)
        assert old["regulation"]["version_date"].startswith("2019")

    def test_reingest_changes_nothing(self, xuzhou_index, corpus_dir):
        data, first = xuzhou_index
        before = index_state(data)
        proc = cli(data, "ingest", str(corpus_dir / "xuzhou"), str(corpus_dir / "formats"),
                   str(corpus_dir / "real-files"), "--json", "--no-train")
        again = json.loads(proc.stdout)
        assert again["unchanged"] == first["files"] and again["regulations"] == 0 and again["points"] == 0
        assert index_state(data) == before


def two_texts_ingested(tmp_path: Path, corpus_dir: Path) -> tuple[Path, Path]:
    """Two Xuzhou texts copied into a folder of their own and ingested (BM25 only): (the folder, the data dir)."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("徐州市质量促进条例.md", "徐州市养犬管理条例_2023修正.md"):
        shutil.copy(corpus_dir / "xuzhou" / name, src / name)
    data = tmp_path / "data"
    cli(data, "ingest", str(src), "--no-train")
    return src, data


def test_files_parsed_by_an_older_parser_are_parsed_again(tmp_path, corpus_dir):
    """A version written before the parser changed (its record says parser 1, or nothing) is not 'unchanged':
    the next ingest parses its file again and rewrites it; the others stay skipped."""
    from corpus.index import version_point_id
    from corpus.store import PointRecord
    from ingest.parser_version import PARSER_VERSION

    src, data = two_texts_ingested(tmp_path, corpus_dir)
    rt = runtime(data)
    try:
        rec = next(r for r in rt.index.regulations() if r["title"] == "徐州市质量促进条例")
        assert rec["parser_version"] == PARSER_VERSION
        older = {k: v for k, v in rec.items() if k != "parser_version"}  # as an older parser left it
        rt.index.versions_store.upsert([PointRecord(id=version_point_id(rec["version_id"]), payload=older)])
    finally:
        rt.close()
    summary = json.loads(cli(data, "ingest", str(src), "--json", "--no-train").stdout)
    assert summary["regulations"] == 1 and summary["unchanged"] == 1
    rt = runtime(data)
    try:
        recs = {r["title"]: r for r in rt.index.regulations()}
        assert {r["parser_version"] for r in recs.values()} == {PARSER_VERSION} and len(recs) == 2
    finally:
        rt.close()


class TestReplaceAndFailures:
    def test_edited_copy_replaces_exactly_that_regulation(self, tmp_path, corpus_dir):
        src, data = two_texts_ingested(tmp_path, corpus_dir)
        points_before, _ = index_state(data)
        target = src / "徐州市质量促进条例.md"
        text = target.read_text(encoding="utf-8")
        line = next(line for line in text.splitlines() if line.startswith("第五条"))
        target.write_text(text.replace(line, line + "（本句为测试修改）"), encoding="utf-8")
        summary = json.loads(cli(data, "ingest", str(src), "--json", "--no-train").stdout)
        assert summary["regulations"] == 1 and summary["unchanged"] == 1
        points_after, _ = index_state(data)
        changed = points_before ^ points_after
        assert {p[3:5] for p in changed} == {("", 0)} and {p[2] for p in changed} == {5}
        from corpus.model import Regulation

        assert {p[1].split("@")[0] for p in changed} == {Regulation(title="徐州市质量促进条例").regulation_id}
        assert len(points_after) == len(points_before)

    def test_bad_files_fail_alone_and_leave_nothing(self, tmp_path, corpus_dir):
        src = tmp_path / "src"
        src.mkdir()
        shutil.copy(corpus_dir / "xuzhou" / "徐州市质量促进条例.md", src / "good.md")
        (src / "empty.txt").write_bytes(b"")
        (src / "random.pdf").write_bytes(os.urandom(4096))
        (src / "random.docx").write_bytes(os.urandom(4096))
        data = tmp_path / "data"
        proc = cli(data, "ingest", str(src), "--json", "--no-train", check=False)
        assert proc.returncode == 1
        summary = json.loads(proc.stdout)
        failed = {Path(f["file"]).name: f for f in summary["failed"]}
        assert set(failed) == {"empty.txt", "random.pdf", "random.docx"}
        assert all(f["message"] and not f["message"].isascii() for f in failed.values())  # Chinese reason
        assert "Traceback" not in proc.stderr
        points, versions = index_state(data)
        assert len(versions) == 1 and {p[1] for p in points} == {versions[0][0]}


class TestCrashSafety:
    def test_kill_9_mid_ingest_then_rerun_equals_clean_run(self, tmp_path, corpus_dir):
        folder = corpus_dir / "lawref" / "宪法相关法"
        clean = tmp_path / "clean"
        cli(clean, "ingest", str(folder), "--no-train")
        expected = index_state(clean)
        crashed = tmp_path / "crashed"
        env = dict(os.environ, LAWSEARCH_DATA_DIR=str(crashed))
        rnd = random.Random(20261126)
        for delay in (rnd.uniform(1.5, 4.0), rnd.uniform(4.0, 7.0)):
            proc = subprocess.Popen([sys.executable, "-m", "cli.main", "ingest", str(folder), "--no-train"],
                                    cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        cli(crashed, "ingest", str(folder), "--no-train")
        got = index_state(crashed)
        assert got[1] == expected[1]
        assert got[0] == expected[0]
        keys = [(p[1], p[2], p[3], p[4]) for p in got[0]]
        assert len(keys) == len(set(keys))


class TestFolderWalk:
    def test_links_inside_a_folder_are_not_followed(self, tmp_path, corpus_dir):
        from ingest.pipeline import find_files

        folder = tmp_path / "in"
        folder.mkdir()
        shutil.copy(corpus_dir / "xuzhou" / "徐州市质量促进条例.md", folder / "a.md")
        outside = tmp_path / "outside.md"
        outside.write_text("# 外部文件\n\n不应被导入。\n", encoding="utf-8")
        (folder / "link.md").symlink_to(outside)
        files, failures = find_files([folder])
        assert [f.name for f in files] == ["a.md"] and failures == []
        assert find_files([folder / "link.md"])[0] == [folder / "link.md"]  # named explicitly: taken
