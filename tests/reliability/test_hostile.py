"""Hand-made hostile inputs (those not already in tests/ingest/test_converters.py): a PDF page bomb, XML entity
expansion in HTML and DOCX (billion laughs, quadratic blow-up, external entities), and hostile upload names and
links (a loop, a dangling link). Each fails with an IngestError or is harmless, in bounded time and memory, and none writes to the index."""
from __future__ import annotations

import io
import os
import time
import zipfile
from pathlib import Path

import pytest

from corpus.errors import FileTooLarge, IngestError
from evaluation.fuzz import _RssSampler
from ingest.converters import ConvertLimits, convert_file

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
LAUGH = "哈" * 10
# 10 levels of 10 references: 10^9 copies of LAUGH once expanded (30 GB of UTF-8).
LOL_DTD = f'<!ENTITY a "{LAUGH}">' + "".join(
    f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
QUAD_DTD = '<!ENTITY a "' + "哈" * 50000 + '">'  # one 150 kB entity, referenced 50,000 times: 7.5 GB
XXE_DTD = '<!ENTITY x SYSTEM "file:///etc/passwd">'


def blank_pdf(pages: int, *, count: int | None = None, shared_page: bool = False) -> bytes:
    """A valid PDF of blank pages written by hand (pypdf takes ~10 s to write 10,000 pages).
    `count`: a lying /Count; `shared_page`: every /Kids entry is the same page object."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{3 if shared_page else 3 + i} 0 R" for i in range(pages))
    objs.append(f"<< /Type /Pages /Kids [{kids}] /Count {pages if count is None else count} >>".encode())
    objs += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"] * (1 if shared_page else pages)
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + o + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def docx_with(dtd: str, body_text: str) -> bytes:
    xml = (f'<?xml version="1.0"?><!DOCTYPE d [{dtd}]><w:document xmlns:w="{W}"><w:body>'
           f'<w:p><w:r><w:t>某某条例</w:t></w:r></w:p><w:p><w:r><w:t>第一条 {body_text}</w:t></w:r></w:p>'
           f'</w:body></w:document>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", xml)
    return buf.getvalue()


def html_with(dtd: str, body_text: str) -> bytes:
    return (f'<?xml version="1.0"?><!DOCTYPE html [{dtd}]><html><head><meta charset="utf-8"><title>某某条例</title>'
            f'</head><body><p>某某条例</p><p>第一条 {body_text}</p><p>第二条 内容。</p></body></html>').encode()


HOSTILE = {
    "pages-10000.pdf": lambda: blank_pdf(10000),
    "pages-lying-count.pdf": lambda: blank_pdf(10000, count=1),
    "pages-shared-kid.pdf": lambda: blank_pdf(10000, shared_page=True),
    "lol.docx": lambda: docx_with(LOL_DTD, "&j;"),
    "lol.html": lambda: html_with(LOL_DTD, "&j;"),
    "lol-as-text.md": lambda: html_with(LOL_DTD, "&j;"),
    "quadratic.docx": lambda: docx_with(QUAD_DTD, "&a;" * 50000),
    "quadratic.html": lambda: html_with(QUAD_DTD, "&a;" * 50000),
    "xxe.docx": lambda: docx_with(XXE_DTD, "&x;"),
    "xxe.html": lambda: html_with(XXE_DTD, "&x;"),
}


def _bounded(path: Path) -> tuple[object, float, float]:
    with _RssSampler() as rss:
        t0 = time.perf_counter()
        try:
            out = convert_file(path, limits=ConvertLimits(ocr_enabled=True))
        except IngestError as e:
            out = e
        dt = time.perf_counter() - t0
    return out, dt, rss.growth


class TestPdfPageBomb:
    @pytest.mark.parametrize("name", ["pages-10000.pdf", "pages-lying-count.pdf", "pages-shared-kid.pdf"])
    def test_rejected_by_page_limit_fast(self, tmp_path, name):
        f = tmp_path / name
        f.write_bytes(HOSTILE[name]())
        out, dt, grow = _bounded(f)
        assert isinstance(out, FileTooLarge), out
        assert "10000" in out.message and "2000" in out.message
        assert dt < 5.0 and grow < 300, (dt, grow)

    def test_many_blank_pages_under_the_limit_are_not_ocrd(self, tmp_path):
        f = tmp_path / "pages-1999.pdf"
        f.write_bytes(blank_pdf(1999))
        out, dt, _ = _bounded(f)
        assert isinstance(out, IngestError) and out.code == "no_text"
        assert dt < 10.0


class TestEntityExpansion:
    @pytest.mark.parametrize("name", ["lol.docx", "lol.html", "lol-as-text.md", "quadratic.docx", "quadratic.html",
                                      "xxe.docx", "xxe.html"])
    def test_error_or_harmless(self, tmp_path, name):
        f = tmp_path / name
        f.write_bytes(HOSTILE[name]())
        out, dt, grow = _bounded(f)
        assert dt < 5.0 and grow < 300, (dt, grow)
        if isinstance(out, IngestError):
            assert out.code in ("corrupt_file", "file_too_large", "no_text")
            return
        # Not expanded: the text is no bigger than the file, and no external file was read.
        assert len(out.text) <= f.stat().st_size and LAUGH * 2 not in out.text
        assert "root:" not in out.text


@pytest.mark.integration
def test_hostile_folder_ingest_writes_nothing(tmp_path):
    """The hostile files plus links (a directory loop, a dangling link) through a real ingest: every hostile file
    fails alone with a Chinese reason or is indexed verbatim (entities unexpanded), in bounded time."""
    from corpus.settings import Settings
    from service.runtime import Runtime

    src = tmp_path / "src"
    src.mkdir()
    for name, make in HOSTILE.items():
        (src / name).write_bytes(make())
    os.symlink(src, src / "loop")                        # a directory link back to itself
    os.symlink(tmp_path / "missing.md", src / "dangling.md")
    rt = Runtime.open(Settings(data_dir=tmp_path / "data"))
    try:
        t0 = time.perf_counter()
        s = rt.ingest([src], progress=False, train=False)
        dt = time.perf_counter() - t0
        failed = {Path(f["file"]).name: f for f in s.failed}
        assert set(failed) >= {"pages-10000.pdf", "pages-lying-count.pdf", "pages-shared-kid.pdf", "lol.docx",
                               "quadratic.docx"}
        assert all(not f["message"].isascii() for f in failed.values())
        assert not any("loop" in Path(f["file"]).parts for f in s.failed), "the link loop is not walked"
        # What failed wrote nothing; what was accepted (HTML whose entities are left unexpanded, a DOCX whose
        # external entity was not resolved) is indexed verbatim: nothing expanded, no outside file read.
        rows = rt.index.regulations()
        assert {Path(r["source_path"]).name for r in rows} | {Path(a["source_path"]).name for r in rows
                                                              for a in r.get("alternates", [])} \
            <= {"lol.html", "lol-as-text.md", "quadratic.html", "xxe.html", "xxe.docx"}
        texts = [h.payload["text"] for h in rt.index.articles.scroll()]
        assert sum(map(len, texts)) < 200_000
        assert not any(LAUGH * 2 in t or "root:" in t for t in texts)
        assert dt < 60
    finally:
        rt.close()


@pytest.mark.integration
def test_hostile_uploads_through_the_api(tmp_path):
    """Hostile names ('../', absolute, backslashes, NUL, a link's name) and hostile contents via the admin upload
    route: files land only in a fresh directory under <data>/uploads (never through a planted link), every
    hostile content fails with its code, and the index stays empty."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from corpus.settings import Settings
    from service.runtime import Runtime

    key = "reliability-admin-key-0123456789"
    settings = Settings(data_dir=tmp_path / "data", api_keys={key: "admin"}, max_upload_mb=5, max_upload_files=10,
                        llm_base_url=None, qdrant_url=None, embedding_model=None)
    uploads = settings.data_dir / "uploads"
    uploads.mkdir(parents=True)
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched", encoding="utf-8")
    for planted in ("passwd.pdf", "evil.docx", "x.docx"):
        os.symlink(victim, uploads / planted)   # links an attacker might hope the upload is written through
    files = [
        ("files", ("../../../etc/passwd.pdf", HOSTILE["pages-10000.pdf"](), "application/pdf")),
        ("files", ("/abs/path/evil.docx", HOSTILE["lol.docx"](), "application/octet-stream")),
        ("files", ("..\\..\\windows\\x.docx", HOSTILE["quadratic.docx"](), "application/octet-stream")),
        ("files", ("nul\x00byte.pdf", HOSTILE["pages-lying-count.pdf"](), "application/pdf")),
    ]
    rt = Runtime.open(settings)
    try:
        with TestClient(create_app(settings, runtime=rt)) as client:
            r = client.post("/api/regulations", headers={"X-API-Key": key}, files=files)
            assert r.status_code == 200, r.text
            body = r.json()
        assert body["result"] == "failed"
        codes = [f["errors"][0]["code"] for f in body["files"]]
        assert codes == ["file_too_large", "corrupt_file", "corrupt_file", "file_too_large"]
        stored = [p for p in (uploads / body["upload_id"]).iterdir()]
        assert len(stored) == 4
        for p in stored:
            assert p.is_file() and not p.is_symlink() and p.parent == uploads / body["upload_id"]
            assert ".." not in p.name and "\\" not in p.name and "\x00" not in p.name
        assert victim.read_text(encoding="utf-8") == "untouched"
        assert rt.index.counts() == {"points": 0, "versions": 0}
    finally:
        rt.close()


class TestFrontMatter:
    """Found by evaluation.fuzz (front_matter mutation): YAML that safe_load rejects with ValueError (an impossible
    date) or RecursionError (deep nesting) used to fail the whole file as corrupt; it now falls back to the flat
    key: value reading like any other invalid YAML, and the body is read."""

    BODY = "# 某某条例\n第一条 为了测试，制定本条例。\n第二条 本条例自公布之日起施行。\n"

    @pytest.mark.parametrize("front", ["effective_date: 2024-02-30\ntitle: 某某条例\n",
                                       "title: !!timestamp 2001-13-99\n",
                                       "title: 某某条例\nx: " + "[" * 5000 + "]" * 5000 + "\n"])
    def test_bad_yaml_falls_back(self, tmp_path, front):
        f = tmp_path / "fm.md"
        f.write_text("---\n" + front + "---\n" + self.BODY, encoding="utf-8")
        r = convert_file(f)
        assert "第一条 为了测试，制定本条例。" in r.lines and any("YAML" in w for w in r.warnings)

    def test_yaml_alias_bomb_is_harmless(self, tmp_path):
        y = 'a: &a ["哈","哈","哈","哈","哈","哈","哈","哈","哈"]\n' + "".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(9))
        f = tmp_path / "bomb.md"
        f.write_text("---\n" + y + "title: *j\noffice: *j\n---\n" + self.BODY, encoding="utf-8")
        from ingest.metadata import build_regulation

        out, dt, grow = _bounded(f)
        assert dt < 5.0 and grow < 300
        reg = build_regulation(out, source_path=str(f), sha256="0")
        assert reg.title == "某某条例" and len(reg.articles) == 2
