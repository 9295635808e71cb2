"""The wiring: what the settings say reaches the components they govern, unchanged."""
from __future__ import annotations

import pytest

from corpus.settings import Settings
from service.runtime import Runtime


@pytest.fixture()
def open_runtime(tmp_path, monkeypatch):
    opened = []

    def _open(**env):
        for name, value in env.items():
            monkeypatch.setenv(f"LAWSEARCH_{name.upper()}", value)
        rt = Runtime.open(Settings(data_dir=tmp_path / "data"))
        opened.append(rt)
        return rt

    yield _open
    for rt in opened:
        rt.close()


def test_violation_rerank_setting_reaches_the_engine(open_runtime):
    assert open_runtime().engine.violation_rerank is True
    assert open_runtime(violation_rerank="0").engine.violation_rerank is False


def test_a_bad_violation_rerank_value_fails_at_start_naming_the_field(monkeypatch):
    monkeypatch.setenv("LAWSEARCH_VIOLATION_RERANK", "perhaps")
    with pytest.raises(ValueError, match="violation_rerank"):
        Settings()


def test_one_limits_object_from_the_settings_to_the_converter(open_runtime, tmp_path):
    from ingest.pipeline import Ingestor
    from ingest.writer import ArticleIndexWriter

    rt = open_runtime(max_file_mb="1", max_pdf_pages="3", ocr_enabled="false", ocr_max_pages="2")
    limits = rt.limits
    assert (limits.max_file_bytes, limits.max_pdf_pages, limits.ocr_enabled, limits.ocr_max_pages) == (
        2**20, 3, False, 2)
    writer = ArticleIndexWriter(index=rt.index, sparse_encoders=rt.sparse_encoders, embedder=None)
    converter = Ingestor(rt.index, writer, limits=limits).pipeline.get_component("converter")
    assert converter.limits is limits


def test_an_oversized_file_is_refused_with_the_configured_limit(open_runtime, tmp_path):
    src = tmp_path / "big.txt"
    src.write_text("第一条　" + "安全生产" * 300_000, encoding="utf-8")  # ≈ 3.6 MB
    rt = open_runtime(max_file_mb="1")
    summary = rt.ingest([src], progress=False, train=False)
    assert [f["code"] for f in summary.failed] == ["file_too_large"], summary.failed


@pytest.mark.integration
def test_the_encoder_gets_its_own_vector_when_it_is_configured_and_later_ingests_embed_only_new_articles(
        open_runtime, corpus_dir, monkeypatch):
    from corpus.charencoder import ENCODER_VECTOR

    first = corpus_dir / "xuzhou" / "徐州市养犬管理条例_2023修正.md"
    second = corpus_dir / "xuzhou" / "徐州市文明行为促进条例.md"
    rt = open_runtime(encoder_model="none")
    rt.ingest([first], progress=False, train=False)
    assert ENCODER_VECTOR not in rt.index.layout().dense and "encoder" not in rt.retrieval_description
    points = rt.index.articles.count()
    rt.close()

    rt = open_runtime(encoder_model="packaged")
    assert rt.encoder_stale()
    # The same, unchanged file: the index still gains the encoder's vector for every article it holds.
    rt.ingest([first], progress=False, train=False)
    assert ENCODER_VECTOR in rt.index.layout().dense and not rt.encoder_stale()
    assert rt.index.articles.count() == points
    assert "character encoder" in rt.retrieval_description and rt.retrieval_modes()["encoder"]
    result = rt.search("养狗不拴绳怎么处罚")
    assert result["hits"] and "字符编码器" in result["retrieval_label"]  # said in Chinese to the user
    assert rt.engine.retriever.encoder is rt.encoder  # its candidate list is queried
    from search.retrieval import ENCODER_CANDIDATES

    lists = {kind: r["limit"] for kind, r in rt.engine.retriever._requests("养狗不拴绳怎么处罚", None, 500)}
    assert lists["encoder"] == ENCODER_CANDIDATES < lists["sparse"] == 500  # the first 100 are what it adds
    calls = []
    encode = rt.encoder.encode_documents
    monkeypatch.setattr(rt.encoder, "encode_documents", lambda texts, progress=False: calls.append(len(texts))
                        or encode(texts))
    rt.ingest([first, second], progress=False, train=False)
    assert rt.index.articles.count() - points == sum(calls) > 0  # only the new file's articles were encoded


@pytest.mark.integration
def test_a_new_index_built_with_the_encoder_is_not_embedded_again(open_runtime, corpus_dir):
    from corpus.charencoder import ENCODER_VECTOR

    rt = open_runtime(encoder_model="packaged")
    rt.ingest([corpus_dir / "xuzhou" / "徐州市养犬管理条例_2023修正.md"], progress=False, train=False)
    assert ENCODER_VECTOR in rt.index.layout().dense and not rt.encoder_stale()


@pytest.mark.integration
def test_searches_wait_while_a_child_process_has_the_index_and_none_fails(open_runtime, corpus_dir):
    import threading

    rt = open_runtime()
    rt.ingest([corpus_dir / "xuzhou"], progress=False, train=False)
    done, errors, stop = [], [], threading.Event()

    def client():  # a user searching while the admin's bulk load builds the HNSW graph in a child process
        while not stop.is_set():
            try:
                done.append(rt.search("安全生产责任保险")["hits"][0]["title"])
            except Exception as exc:  # noqa: BLE001 - every failure is what the test counts
                errors.append(repr(exc))

    t = threading.Thread(target=client)
    t.start()
    while not done and not errors:  # a search that only fails ends the wait (and the test, below)
        threading.Event().wait(0.01)
    before = len(done)
    rt._apart("optimize", progress=False)  # the index closed here, reopened after the child
    after = len(done)
    threading.Event().wait(0.2)
    stop.set()
    t.join(30)
    assert errors == []
    assert len(done) > after >= before  # searches went on after the reopen


def test_a_serving_ingest_defers_the_flush_and_a_crash_then_loses_nothing(open_runtime, corpus_dir, tmp_path,
                                                                           monkeypatch):
    """An ingest that yields to readers (an API upload) leaves the store's flush, which stalls every search for a
    few hundred ms on a large index, to later; what it wrote is in the write-ahead log all the same."""
    import shutil

    import service.runtime as runtime_module

    rt = open_runtime()
    flushes = []
    monkeypatch.setattr(rt.index, "flush", lambda: flushes.append(1))
    summary = rt.ingest([corpus_dir / "xuzhou" / "徐州市养犬管理条例_2023修正.md"], progress=False, train=False,
                        yield_to_readers=True)
    assert summary.points > 0 and flushes == []
    rt.ingest([corpus_dir / "xuzhou" / "徐州市质量促进条例.md"], progress=False, train=False)  # a bulk ingest flushes
    assert flushes == [1]
    monkeypatch.setattr(runtime_module, "DEFERRED_FLUSH_POINTS", 1)  # enough written: the serving ingest flushes
    rt.ingest([corpus_dir / "xuzhou" / "徐州市文明行为促进条例.md"], progress=False, train=False, yield_to_readers=True)
    assert flushes == [1, 1]
    # What a kill -9 now would leave on disk, none of it flushed: every version is there, complete and current.
    shutil.copytree(tmp_path / "data", tmp_path / "after-crash")
    crashed = Runtime.open(Settings(data_dir=tmp_path / "after-crash"))
    try:
        records = crashed.index.version_records()
        assert sorted(r["title"] for r in records if r["is_current"]) == ["徐州市养犬管理条例", "徐州市文明行为促进条例",
                                                                          "徐州市质量促进条例"]
        hit = crashed.search("徐州市养犬管理条例第十八条", top_k=1)["hits"][0]
        assert hit["title"] == "徐州市养犬管理条例" and hit["article_no"] == 18
    finally:
        crashed.close()
