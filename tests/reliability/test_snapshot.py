"""Snapshot and restore of the data directory: restore-then-search equality on the real xuzhou index."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from corpus.errors import BackendUnavailable
from corpus.settings import Settings
from corpus.snapshot import MANIFEST, SnapshotError, create_snapshot, read_manifest, restore_snapshot

REPO = Path(__file__).resolve().parents[2]
QUERIES = ["徐州市安全生产条例第二十条", "养犬 伤人 责任", "生产经营单位未履行安全生产教育培训的罚款",
           "法律援助 申请 条件", "电梯 维护保养"]


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, LAWSEARCH_DATA_DIR=str(data_dir))
    return subprocess.run([sys.executable, "-m", "cli.main", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)


def runtime(data_dir: Path):
    from service.runtime import Runtime

    return Runtime.open(Settings(data_dir=data_dir))


def searches(data_dir: Path) -> list:
    rt = runtime(data_dir)
    try:
        out = []
        for q in QUERIES:
            r = rt.search(q, top_k=10)
            out.append([(h["id"], h["version_id"], h["label"], round(h["score"], 6)) for h in r["hits"]])
        versions = sorted((v["version_id"], v["is_current"]) for v in rt.index.regulations())
        return [out, versions, rt.index.counts()]
    finally:
        rt.close()


@pytest.fixture(scope="module")
def xuzhou_data(tmp_path_factory, corpus_dir):
    data = tmp_path_factory.mktemp("snap") / "data"
    rt = runtime(data)
    try:
        s = rt.ingest([corpus_dir / "xuzhou"], progress=False, train=False)
        assert not s.failed and s.points > 0
    finally:
        rt.close()
    (data / "audit.log").write_text('{"action": "upload"}\n', encoding="utf-8")
    return data


@pytest.mark.integration
class TestSnapshotRestore:
    def test_restore_then_search_is_identical(self, xuzhou_data, tmp_path):
        before = searches(xuzhou_data)
        assert all(before[0]), "every query finds something"
        archive = tmp_path / "snap.tar.gz"
        proc = cli(xuzhou_data, "snapshot", str(archive))
        assert proc.returncode == 0, proc.stderr
        assert "已创建快照" in proc.stdout
        target = tmp_path / "restored"
        proc = cli(target, "restore", str(archive))
        assert proc.returncode == 0, proc.stderr
        assert (target / "audit.log").read_text(encoding="utf-8") == '{"action": "upload"}\n'
        assert searches(target) == before
        m = read_manifest(archive)
        assert m["points"] == before[2]["points"] and m["versions"] == before[2]["versions"]

    def test_refuses_non_empty_target_unless_force(self, xuzhou_data, tmp_path):
        archive = tmp_path / "snap.tar.gz"
        create_snapshot(xuzhou_data, archive)
        target = tmp_path / "busy"
        target.mkdir()
        (target / "keep.txt").write_text("x")
        proc = cli(target, "restore", str(archive))
        assert proc.returncode == 2 and "--force" in proc.stderr and "Traceback" not in proc.stderr
        assert (target / "keep.txt").exists()
        restore_snapshot(archive, target, force=True)
        assert not (target / "keep.txt").exists() and (target / "qdrant").is_dir()
        assert searches(target)[2] == searches(xuzhou_data)[2]

    def test_snapshot_refused_while_a_writer_holds_the_index(self, xuzhou_data, tmp_path):
        rt = runtime(xuzhou_data)  # a writer (ingest, API server) keeps the Edge shards locked
        try:
            with pytest.raises(BackendUnavailable):
                create_snapshot(xuzhou_data, tmp_path / "s.tar.gz")
            # ... but the holder itself can take a consistent one.
            m = create_snapshot(xuzhou_data, tmp_path / "held.tar.gz", index=rt.index)
            assert m["points"] == rt.index.counts()["points"]
            # Nor can a restore replace a data dir whose index is open.
            with pytest.raises(BackendUnavailable):
                restore_snapshot(tmp_path / "held.tar.gz", xuzhou_data, force=True)
            assert rt.index.counts()["points"] == m["points"]
        finally:
            rt.close()
        assert not (tmp_path / "s.tar.gz").exists()


def _tar(path: Path, members: dict[str, bytes], manifest: dict | None = None, link: str | None = None) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if link:
            info = tarfile.TarInfo(link)
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(info)
        if manifest is not None:
            blob = json.dumps(manifest).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))


class TestHostileArchives:
    def _manifest(self, members: dict[str, bytes]) -> dict:
        import hashlib

        return {"format": 1, "created": "x", "points": 0, "versions": 0,
                "files": [{"path": n, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()}
                          for n, d in members.items()]}

    @pytest.mark.parametrize("name", ["../evil.txt", "/tmp/evil.txt", "a/../../evil.txt"])
    def test_path_escape(self, tmp_path, name):
        members = {name: b"x"}
        _tar(tmp_path / "a.tar.gz", members, self._manifest(members))
        with pytest.raises(SnapshotError):
            restore_snapshot(tmp_path / "a.tar.gz", tmp_path / "d")
        assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "d").exists()

    def test_symlink_member(self, tmp_path):
        _tar(tmp_path / "a.tar.gz", {}, self._manifest({}), link="qdrant/link")
        with pytest.raises(SnapshotError, match="链接"):
            restore_snapshot(tmp_path / "a.tar.gz", tmp_path / "d")
        assert not (tmp_path / "d").exists()

    def test_tampered_content(self, tmp_path):
        m = self._manifest({"audit.log": b"good"})
        _tar(tmp_path / "a.tar.gz", {"audit.log": b"evil"}, m)
        with pytest.raises(SnapshotError) as e:
            restore_snapshot(tmp_path / "a.tar.gz", tmp_path / "d")
        assert "校验" in e.value.message and not (tmp_path / "d").exists()

    def test_not_a_snapshot(self, tmp_path):
        (tmp_path / "a.tar.gz").write_bytes(os.urandom(1000))
        with pytest.raises(SnapshotError):
            restore_snapshot(tmp_path / "a.tar.gz", tmp_path / "d")
        _tar(tmp_path / "b.tar.gz", {"x": b"y"})
        with pytest.raises(SnapshotError):
            restore_snapshot(tmp_path / "b.tar.gz", tmp_path / "d")

    def test_snapshot_inside_data_dir_refused(self, tmp_path):
        (tmp_path / "data").mkdir()
        with pytest.raises(SnapshotError):
            create_snapshot(tmp_path / "data", tmp_path / "data" / "s.tar.gz")
