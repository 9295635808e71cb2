"""Several server processes on read-only copies of the embedded index; the ingest's spill file and its yielding."""
from __future__ import annotations

import sys

import pytest

from corpus.errors import BackendUnavailable
from corpus.model import Article, Regulation
from corpus.settings import Settings
from ingest.pipeline import ParsedSpill, read_spill
from service.replicas import (
    claim_replica,
    prepare_replicas,
    remove_replicas,
    worker_count,
)
from service.runtime import Runtime, yielding


@pytest.mark.integration
def test_workers_search_private_read_only_copies_of_the_index(tmp_path, corpus_dir):
    settings = Settings(data_dir=tmp_path / "data")
    rt = Runtime.open(settings)
    rt.ingest([corpus_dir / "xuzhou" / "徐州市质量促进条例.md"], progress=False, train=False)
    rt.close()

    root = prepare_replicas(settings, 2)
    first, second = claim_replica(root), claim_replica(root)
    assert first != second  # each worker its own copy
    with pytest.raises(RuntimeError):
        claim_replica(root)  # both held (by this process, as two workers would)
    runtimes = [Runtime.open(settings, replica=first), Runtime.open(settings, replica=second)]
    try:
        for worker in runtimes:  # two copies open at once, while the data directory's own index stays closed
            assert worker.read_only
            hits = worker.search("质量奖评选", top_k=3)["hits"]
            assert hits and hits[0]["title"] == "徐州市质量促进条例"
        with pytest.raises(BackendUnavailable) as err:
            runtimes[0].ingest([corpus_dir / "xuzhou"], progress=False, train=False)
        assert err.value.code == "read_only" and "只读" in err.value.message
        own = Runtime.open(settings)  # the data directory itself is free for an ingest meanwhile
        assert not own.read_only
        own.close()
    finally:
        for worker in runtimes:
            worker.close()
        remove_replicas(root)
    assert not root.exists()


def test_worker_count():
    assert worker_count("3") == 3
    assert worker_count("auto") >= 1
    with pytest.raises(ValueError):
        worker_count("0")


def test_parsed_regulations_round_trip_through_the_spill_file():
    regs = [Regulation(title=f"某某条例{i}", articles=[Article(regulation_title=f"某某条例{i}", article_no=n, text=f"第{n}条的内容")
                                                 for n in (1, 2)])
            for i in range(3)]
    spill = ParsedSpill()
    try:
        for r in regs:
            spill.append(r)
        assert len(spill) == 3 and spill.edition_keys == [None, None, None]
        for _ in range(2):  # read back as often as needed, in order
            assert [r.title for r in spill.iterate()] == ["某某条例0", "某某条例1", "某某条例2"]
        assert [a.text for a in next(read_spill(spill.path, 1)).articles] == ["第1条的内容", "第2条的内容"]
        path = spill.path
    finally:
        spill.close()
    assert not path.exists()


def test_yielding_shortens_the_switch_interval_and_restores_it_once():
    before = sys.getswitchinterval()
    with yielding():
        with yielding():
            assert sys.getswitchinterval() == pytest.approx(0.0005)
        assert sys.getswitchinterval() == pytest.approx(0.0005)
    assert sys.getswitchinterval() == before


@pytest.mark.integration
def test_a_bulk_load_builds_the_dense_graph_in_a_child_and_keeps_serving(tmp_path, corpus_dir, monkeypatch):
    """After a bulk load the HNSW graph is built by a child process (its memory goes back when it ends); the
    ingesting process gets its index back and searches it."""
    import service.runtime as runtime_module

    monkeypatch.setattr(runtime_module, "OPTIMIZE_MIN_POINTS", 100)  # the Xuzhou set stands in for a bulk load
    rt = Runtime.open(Settings(data_dir=tmp_path / "data", optimize_after_ingest=True))
    try:
        summary = rt.ingest([corpus_dir / "xuzhou"], progress=False, train=False)
        assert summary.points > 100 and "optimize" in summary.phases
        hits = rt.search("徐州市安全生产条例第十八条")["hits"]
        assert hits and hits[0]["title"] == "徐州市安全生产条例" and hits[0]["article_no"] == 18
    finally:
        rt.close()
