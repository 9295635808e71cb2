"""Versions, currentness, safe replacement and deletion on the real Qdrant Edge engine (temp dir)."""
from __future__ import annotations

import pytest

from corpus.encoders import bigram_encoder
from corpus.index import ArticleIndex
from corpus.model import Article, Clause, Regulation
from corpus.store import Condition, FilterSpec, open_store
from ingest.writer import ArticleIndexWriter

pytestmark = pytest.mark.integration


def make_reg(title: str, version_date: str, texts: list[str], *, effective: str = "", sha: str = "") -> Regulation:
    arts = [Article(regulation_title=title, article_no=i + 1, clauses=[Clause(t)], text=t,
                    headings=["第一章 总则"]) for i, t in enumerate(texts)]
    return Regulation(title=title, articles=arts, version_date=version_date, effective_date=effective or version_date,
                      level="地方性法规", region="徐州市", sha256=sha or f"sha-{title}-{version_date}-{hash(tuple(texts))}")


@pytest.fixture()
def index(tmp_path):
    idx = ArticleIndex(open_store(data_dir=tmp_path, collection="articles"),
                       open_store(data_dir=tmp_path, collection="articles_versions"))
    enc = bigram_encoder(avgdl=20.0)
    idx.ensure([enc.name], {})
    yield idx, ArticleIndexWriter(index=idx, sparse_encoders=[enc])
    idx.close()


def current_texts(idx: ArticleIndex, title_key: str) -> dict[int, str]:
    hits = idx.articles.scroll(FilterSpec(must=[Condition("title_key", eq=title_key), Condition("is_current", eq=True)]))
    out: dict[int, str] = {}
    for h in hits:
        assert h.payload["article_no"] not in out, "an article is current twice"
        out[h.payload["article_no"]] = h.payload["text"]
    return out


class TestVersions:
    def test_latest_version_is_current_whatever_the_load_order(self, index):
        idx, writer = index
        new = make_reg("徐州市安全生产条例", "2024-12-09", ["新第一条", "新第二条"], effective="2025-02-01")
        old = make_reg("徐州市安全生产条例", "2019-11-29", ["旧第一条", "旧第二条"], effective="2020-01-01")
        writer.write(new)
        writer.write(old)  # an older version loaded after the newer one does not become current
        rows = {r["version_date"]: r for r in idx.regulations()}
        assert rows["2024-12-09"]["is_current"] and not rows["2019-11-29"]["is_current"]
        assert rows["2019-11-29"]["superseded_by"] == new.version_id
        assert current_texts(idx, "徐州市安全生产条例") == {1: "新第一条", 2: "新第二条"}
        rec, hits = idx.article("徐州市安全生产条例", 2)
        assert rec["version_date"] == "2024-12-09" and hits[0].payload["text"] == "新第二条"
        rec, hits = idx.article("徐州市安全生产条例", 2, as_of="2022-01-01")
        assert rec["version_date"] == "2019-11-29" and hits[0].payload["text"] == "旧第二条"

    def test_amended_texts_that_only_state_the_first_date_get_their_own_windows(self, index):
        # Two 修正 versions of a national law, each ending with the first version's 本法自2002年11月1日起施行:
        # each version is in force from its own date, not both from 2002 (which left the older one no window).
        from ingest.metadata import build_regulation

        idx, writer = index

        class Converted:
            metadata: dict = {}
            source_format = "md"
            warnings: list = []

            def __init__(self, text):
                self.text = text

        def law(amended: str, body: str):
            text = (f"中华人民共和国某某法\n2002年6月29日第九届全国人民代表大会常务委员会第二十八次会议通过\n"
                    f"{amended}第十二届全国人民代表大会常务委员会第十次会议《关于修改〈中华人民共和国某某法〉的决定》修正\n"
                    f"第一条 {body}\n第二条 本法自2002年11月1日起施行。")
            return build_regulation(Converted(text), source_path=f"某某法({amended}).md", sha256=amended)

        old, new = law("2014年8月31日", "旧的规定。"), law("2021年6月10日", "新的规定。")
        assert (old.effective_date, new.effective_date) == ("", "")
        assert new.extra["first_effective_date"] == "2002-11-01"
        writer.write(old)
        writer.write(new)
        rec, hits = idx.article("中华人民共和国某某法", 1, as_of="2016-01-01")
        assert rec["version_date"] == "2014-08-31" and hits[0].payload["text"] == "旧的规定。"
        rec, hits = idx.article("中华人民共和国某某法", 1, as_of="2022-01-01")
        assert rec["version_date"] == "2021-06-10" and hits[0].payload["text"] == "新的规定。"

    def test_changed_file_with_same_version_replaces_exactly_its_points(self, index):
        idx, writer = index
        other = make_reg("徐州市质量促进条例", "2020-01-01", ["质量一", "质量二"])
        writer.write(other)
        writer.write(make_reg("徐州市养犬管理条例", "2023-01-01", ["养犬一", "养犬二", "养犬三"], sha="a"))
        before_other = {h.id for h in idx.version_articles(other.version_id)}
        res = writer.write(make_reg("徐州市养犬管理条例", "2023-01-01", ["养犬一", "养犬二（已修改）"], sha="b"))
        assert res.replaced == 1  # article 3 disappeared from the edited file
        assert current_texts(idx, "徐州市养犬管理条例") == {1: "养犬一", 2: "养犬二（已修改）"}
        assert {h.id for h in idx.version_articles(other.version_id)} == before_other
        assert len(idx.regulations()) == 2

    def test_delete_one_version_promotes_the_previous(self, index):
        idx, writer = index
        old = make_reg("江苏省法律援助条例", "2005-01-01", ["旧"])
        new = make_reg("江苏省法律援助条例", "2024-01-01", ["新"])
        writer.write(old)
        writer.write(new)
        assert idx.delete(new.regulation_id, new.version_id) == 1
        assert current_texts(idx, "江苏省法律援助条例") == {1: "旧"}
        assert idx.delete(old.regulation_id) == 1
        assert idx.articles.count() == 0 and idx.regulations() == []

    def test_interrupted_write_is_rolled_back(self, index):
        idx, writer = index
        reg = make_reg("徐州市文明行为促进条例", "2019-01-01", ["一", "二"])
        writer.write(reg)
        # Simulate a crash after the pending record and some points were written for a new version.
        half = make_reg("徐州市文明行为促进条例", "2024-01-01", ["新一", "新二"])

        class Crash(Exception):
            pass

        original = idx.articles.upsert

        def crashing_upsert(points, **kw):
            original(points[:1], **kw)
            raise Crash()

        idx.articles.upsert = crashing_upsert
        with pytest.raises(Crash):
            writer.write(half)
        idx.articles.upsert = original
        assert idx.recover() == [half.version_id]
        assert current_texts(idx, "徐州市文明行为促进条例") == {1: "一", 2: "二"}
        assert idx.articles.count() == 2

    def test_volumes_of_one_code_are_current_together(self, index):
        idx, writer = index
        vol1 = make_reg("中华人民共和国民法典", "2020-05-28", ["总则一", "总则二"])
        vol1.extra["volume"] = "总则"
        vol2 = make_reg("中华人民共和国民法典", "2020-05-28", ["物权"])
        vol2.extra["volume"] = "物权编"
        for a in vol2.articles:
            a.article_no += 204
        writer.write(vol1)
        writer.write(vol2)
        assert vol1.version_id != vol2.version_id
        assert all(r["is_current"] for r in idx.regulations()) and len(idx.regulations()) == 2
        rec, hits = idx.article("民法典", 205)
        assert rec["version_id"] == vol2.version_id and hits[0].payload["text"] == "物权"
        assert idx.article("民法典", 2)[1][0].payload["text"] == "总则二"


class TestVersionRegistry:
    """A citation lookup resolves its title against the version registry, read from the store once and kept until
    the next write (or `REGISTRY_TTL_S`): lookups stay fast, and a new or deleted version shows at once."""

    def test_lookups_read_the_registry_once_and_see_every_write_at_once(self, index, monkeypatch):
        idx, writer = index
        old = make_reg("徐州市养犬管理条例", "2013-01-01", ["旧第一条"])
        writer.write(old)
        scrolls = []
        original = idx.versions_store.scroll

        def counting_scroll(flt=None, **kw):
            scrolls.append(flt)
            return original(flt, **kw)

        monkeypatch.setattr(idx.versions_store, "scroll", counting_scroll)
        for _ in range(5):
            assert idx.article("徐州市养犬管理条例", 1)[1][0].payload["text"] == "旧第一条"
            assert [r["title"] for r in idx.resolve_title("养犬管理条例")] == ["徐州市养犬管理条例"]
        whole = [f for f in scrolls if not any(c.field == "regulation_id" for c in f.must)]
        assert len(whole) == 1  # the registry, once; the rest are one regulation's versions

        new = make_reg("徐州市养犬管理条例", "2024-01-01", ["新第一条"])
        writer.write(new)  # a write through this index: the next lookup sees it, the records it wrote read anew
        assert idx.article("徐州市养犬管理条例", 1)[0]["version_date"] == "2024-01-01"
        idx.delete(new.regulation_id)
        with pytest.raises(Exception, match="未找到法规"):
            idx.article("徐州市养犬管理条例", 1)
        whole = [f for f in scrolls if not any(c.field == "regulation_id" for c in f.must)]
        assert len(whole) == 1  # still the first read only

    def test_the_kept_registry_equals_a_whole_read_after_every_store_mutation(self, index):
        """Patched from the store's change log after each write, the registry is what reading every record anew
        gives, in the same order, at every step of new versions, a replacement, a rewrite and a deletion."""
        from evaluation.reingest_load import AtEveryMutation

        idx, writer = index
        steps = []

        def compare():
            for state in ("complete", None):
                flt = FilterSpec(must=[Condition("state", eq=state)] if state else [])
                assert idx.version_records(state=state) == [h.payload for h in idx.versions_store.scroll(flt)]
            steps.append(idx.versions_store.generation)

        writer.write(make_reg("徐州市文明行为促进条例", "2019-01-01", ["一", "二"]))
        compare()
        with AtEveryMutation(idx, compare):
            writer.write(make_reg("徐州市养犬管理条例", "2013-01-01", ["旧第一条"]))
            writer.write(make_reg("徐州市养犬管理条例", "2024-01-01", ["新第一条", "新第二条"]))
            writer.write(make_reg("徐州市文明行为促进条例", "2019-01-01", ["一", "二改"], sha="rewritten"))
            idx.delete(make_reg("徐州市养犬管理条例", "2024-01-01", []).regulation_id)
        assert len(steps) > 10 and steps == sorted(steps)

    def test_callers_get_copies_and_another_process_s_writes_show_within_the_ttl(self, index, monkeypatch):
        import corpus.index as index_module

        idx, writer = index
        writer.write(make_reg("徐州市文明行为促进条例", "2019-01-01", ["一"]))
        rec = idx.version_records()[0]
        rec["title"] = "改掉"  # a caller changing its copy changes nothing kept
        assert idx.version_records()[0]["title"] == "徐州市文明行为促进条例"
        assert idx.resolve_title("徐州市文明行为促进条例")[0]["title"] == "徐州市文明行为促进条例"
        # a write this index object did not make (another API worker on a shared server) leaves the generation as
        # it was: the registry is read anew once its time is up
        kept = idx._registries["complete"]
        idx._registries["complete"] = (kept[0], kept[1], {})
        assert idx.resolve_title("徐州市文明行为促进条例") == []
        now = index_module.time.monotonic()
        monkeypatch.setattr(index_module.time, "monotonic", lambda: now + index_module.REGISTRY_TTL_S + 1)
        assert [r["title"] for r in idx.resolve_title("徐州市文明行为促进条例")] == ["徐州市文明行为促进条例"]

    def test_an_index_not_yet_created_names_no_regulation(self, tmp_path):
        idx = ArticleIndex(open_store(data_dir=tmp_path, collection="articles"),
                           open_store(data_dir=tmp_path, collection="articles_versions"))
        try:
            assert idx.resolve_title("安全生产法") == [] and idx.version_records() == []
            with pytest.raises(Exception, match="未找到法规《安全生产法》"):
                idx.article("安全生产法", 1)
        finally:
            idx.close()
