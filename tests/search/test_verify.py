"""引用核验 and 新旧对照 over a real index of the regulations they need (both versions of three revised regulations,
法律援助法, 江苏省安全生产条例), through the service, the API (POST /api/verify, /api/verify/file, GET /api/compare)
and the file converters (MD, DOCX, PDF)."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from corpus.settings import Settings
from tests.indexes import ingested_runtime

LEAFLET = Path(__file__).parent / "data" / "citations_leaflet.md"
FILES = ["徐州市安全生产条例_2019.md", "徐州市安全生产条例_2024修正.md", "江苏省法律援助条例_2005修订.md",
         "江苏省法律援助条例_2024修订.md", "徐州市市容和环境卫生管理条例_2018修正.md",
         "徐州市市容和环境卫生管理条例_2024修正.md", "中华人民共和国法律援助法.md", "江苏省安全生产条例_2023修订.md"]

# The leaflet's citations in order: (what is written, verdict, the current article it points to where superseded).
EXPECTED = [
    ("《徐州市安全生产条例》第十二条", "current", None),          # quoted verbatim
    ("《徐州市安全生产条例》第九条", "superseded", "第十二条"),    # the 2019 number of the same sentence
    ("《徐州市安全生产条例》第二十条第一款", "current", None),
    ("《徐州市安全生产条例》第十六条", "superseded", "第二十条"),  # 2019 number, quoted
    ("《徐州市安全生产条例》第六十条", "article_not_found", None),  # 50 articles
    ("《徐州市安全生产条例》第二十条第五款", "article_not_found", None),  # 3 款
    ("本条例第五十条", "current", None),                            # → 徐州市安全生产条例
    ("本条例第七十条", "article_not_found", None),
    ("《徐州市安全生产条例》第二十六条第二款", "current", None),
    ("《中华人民共和国法律援助法》第二条", "current", None),
    ("法律援助法第三十一条", "current", None),                      # short title
    ("《中华人民共和国法律援助法》第九十条", "article_not_found", None),
    ("《中华人民共和国劳动合同法》第三十条", "law_not_found", None),  # not in this index
    ("《上海市安全生产条例》第十条", "law_not_found", None),
    ("《江苏省法律援助条例》第十条", "superseded", "第十八条"),     # the 2005 text, rewritten as 第十八条
    ("《江苏省法律援助条例》第四十条", "current", None),
    ("《江苏省法律援助条例》第三十条", "misquoted", None),           # the quote is 第三十一条's
    ("本条例第二条", "current", None),                              # → 江苏省法律援助条例
    ("《徐州市市容和环境卫生管理条例》第五十二条", "current", None),
    ("《徐州市市容和环境卫生管理条例》第二十五条", "current", None),  # quoted verbatim
    ("《徐州市市容和环境卫生管理条例》第二十五条", "misquoted", None),  # 印刷品 → 广告传单
    ("《徐州市市容和环境卫生管理条例》第五十一条", "superseded", "第五十二条"),  # 2018 施行 article
    ("徐州市市容和环境卫生管理条例第十八条第二款", "article_not_found", None),  # the 2024 text has one 款
]


@pytest.fixture(scope="module")
def rt(tmp_path_factory, corpus_dir):
    with ingested_runtime(tmp_path_factory.mktemp("verify-index"), [corpus_dir / "xuzhou" / f for f in FILES]) as r:
        yield r


@pytest.fixture(scope="module")
def client(rt, tmp_path_factory):
    from fastapi.testclient import TestClient

    from api.app import create_app

    settings = Settings(data_dir=tmp_path_factory.mktemp("verify-app"), llm_base_url=None, qdrant_url=None,
                        embedding_model=None, rate_limit_per_minute=0, rate_limit_heavy_per_minute=0)
    with TestClient(create_app(settings, runtime=rt)) as c:
        yield c


def _assert_expected(report: dict) -> None:
    got = [(c["written"], c["verdict"], (c.get("now") or [{}])[0].get("label")) for c in report["citations"]]
    assert len(got) >= 20
    assert got == EXPECTED


@pytest.mark.integration
def test_every_citation_of_the_leaflet_is_classified(rt):
    from service.verification import check_file, check_text

    report = check_file(rt, LEAFLET)
    _assert_expected(report)
    by = report["citations"]
    assert by[1]["now"][0]["status"] == "renumbered" and by[1]["version"]["chosen_by"] == "quote"
    assert by[14]["now"][0]["status"] == "modified"
    assert by[16]["quote"]["source"]["citation"] == "《江苏省法律援助条例》第三十一条"
    assert by[6]["title"] == "徐州市安全生产条例" and by[17]["title"] == "江苏省法律援助条例"
    assert by[12]["message"].startswith("索引中没有")
    # the annotated text gives every citation back at its place
    raw = LEAFLET.read_text(encoding="utf-8")
    segments = check_text(rt, raw)["segments"]
    assert [s["text"] for s in segments if "citation" in s] == [w for w, _, _ in EXPECTED]
    assert "".join(s["text"] for s in segments) == raw


@pytest.mark.integration
def test_the_documents_date_picks_the_version(rt):
    from service.verification import check_text

    text = "《徐州市安全生产条例》第十四条规定了从业人员的安全生产教育和培训。本条例第四十八条解释了用语。"
    then = check_text(rt, text, as_of="2021-06-01")["citations"]
    assert [(c["verdict"], c["now"][0]["label"] if c.get("now") else None) for c in then] == \
        [("superseded", "第十八条"), ("superseded", None)]  # 用语含义 was deleted in 2024
    assert "已删除" in then[1]["message"]
    now = check_text(rt, text)["citations"]
    assert [c["verdict"] for c in now] == ["current", "current"]


@pytest.mark.integration
def test_ambiguous_and_unresolved_references(rt):
    from service.verification import check_text

    cits = check_text(rt, "本条例第三条规定了什么？安全生产条例第十条呢？")["citations"]
    assert [c["verdict"] for c in cits] == ["unresolved", "ambiguous"]
    assert set(cits[1]["candidates"]) == {"徐州市安全生产条例", "江苏省安全生产条例"}
    # once the text names one of them, the short title means that one
    cits = check_text(rt, "《江苏省安全生产条例》很重要。安全生产条例第十条呢？")["citations"]
    assert cits[0]["verdict"] == "current" and cits[0]["title"] == "江苏省安全生产条例"


@pytest.mark.integration
def test_docx_and_pdf_documents(rt, tmp_path, corpus_dir):
    import docx

    from service.verification import check_file

    doc = docx.Document()
    for line in LEAFLET.read_text(encoding="utf-8").splitlines():
        if line.strip():
            doc.add_paragraph(line.lstrip("# "))
    path = tmp_path / "宣传材料.docx"
    doc.save(path)
    _assert_expected(check_file(rt, path))
    # the text of a law as a PDF: its 本法第二十五条 is the law's own (its title heads the document)
    report = check_file(rt, corpus_dir / "formats" / "法律援助法.pdf")
    assert report["total"] >= 1
    assert {c["verdict"] for c in report["citations"]} == {"current"}
    assert {c["title"] for c in report["citations"]} == {"中华人民共和国法律援助法"}


@pytest.mark.integration
def test_verify_api(client):
    r = client.post("/api/verify", json={"text": LEAFLET.read_text(encoding="utf-8")})
    assert r.status_code == 200
    _assert_expected(r.json())
    r = client.post("/api/verify/file", files={"file": ("leaflet.md", LEAFLET.read_bytes(), "text/markdown")})
    assert r.status_code == 200
    _assert_expected(r.json())
    # a document over the 64 KB cap of other request bodies is read whole (the upload limit applies instead)
    big = LEAFLET.read_bytes() + ("\n本段为说明文字，不含引用。" * 4000).encode("utf-8")
    assert len(big) > 64 * 1024
    r = client.post("/api/verify/file", files={"file": ("leaflet.txt", big, "text/plain")})
    assert r.status_code == 200
    _assert_expected(r.json())
    r = client.post("/api/verify", json={"text": "《徐州市安全生产条例》第九条", "as_of": "2021-13-45"})
    assert r.status_code == 400 and "日期" in r.json()["message"]
    r = client.post("/api/verify/file", files={"file": ("a.zip", io.BytesIO(b"PK\x03\x04rubbish"), "application/zip")})
    assert 400 <= r.status_code < 500 and r.json()["message"]


@pytest.mark.integration
def test_compare_api(client, rt):
    r = client.get("/api/compare", params={"regulation": "徐州市安全生产条例"})
    assert r.status_code == 200
    body = r.json()
    assert (body["from"]["version_date"], body["to"]["version_date"]) == ("2019-12-12", "2024-12-09")
    assert body["mapping"]["第九条"] == ["第十二条"]
    assert body["summary"]["renumbered"] >= 5 and body["summary"]["deleted"] >= 2
    by_id = client.get("/api/compare", params={"regulation": body["regulation_id"], "from": "2005"})
    assert by_id.status_code == 404 and "2019-12-12" in by_id.json()["message"]
    r = client.get("/api/compare", params={"regulation": "中华人民共和国法律援助法"})
    assert r.status_code == 404 and "只有一个版本" in r.json()["message"]
    r = client.get("/api/compare", params={"regulation": "不存在的条例"})
    assert r.status_code == 404


def test_checking_a_document_is_rate_limited_like_a_question():
    from api.limits import limit_class

    assert limit_class("POST", "/api/verify") == limit_class("POST", "/api/verify/file") == "heavy"
    assert limit_class("GET", "/api/compare") == "read"
