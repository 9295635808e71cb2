"""Converters on the real files of ../shared/corpus and on hostile files made in tmp_path."""
from __future__ import annotations

import difflib
import io
import os
import re
import time
import zipfile
from pathlib import Path

import pytest

from corpus.errors import (CorruptFile, EmptyFile, EncryptedFile, FileTooLarge, IngestError, LawSearchError,
                           NoArticlesFound, UnsupportedFileType)
from ingest.converters import ConvertedText, ConvertLimits, convert_file
from ingest.converters.layout import Line, drop_page_furniture, is_page_number, join_paragraphs

ARTICLE_RE = re.compile(r"^第([一二三四五六七八九十百千零〇两]+)条(之[一二三四五六七八九十]+)?[\s　]")
PAGE_LEFTOVER_RE = re.compile(r"^[\s\-－—─–]*\d+[\s\-－—─–]*$|^─\s*\d+\s*─|^第\s*\d+\s*页")


def article_numbers(text: str) -> list[str]:
    return [m.group(1) + (m.group(2) or "") for m in map(ARTICLE_RE.match, text.split("\n")) if m]


def assert_articles(result: ConvertedText, expected: int) -> None:
    nums = article_numbers(result.text)
    assert len(nums) == expected, nums[-5:]
    assert len(set(nums)) == expected


def assert_clean_lines(result: ConvertedText) -> None:
    lines = result.text.split("\n")
    assert all(lines), "no empty lines"
    assert all(line == line.strip(" 　\t") for line in lines), "no indents, no trailing (full-width) spaces"


def squash(text: str) -> str:
    return re.sub(r"\s", "", text)


# ---------------------------------------------------------------------------------------------- real files


@pytest.mark.integration
class TestMarkdown:
    def test_front_matter_becomes_metadata(self, corpus_dir):
        r = convert_file(corpus_dir / "xuzhou" / "徐州市养犬管理条例_2023修正.md")
        assert r.source_format == "md"
        assert r.metadata["title"] == "徐州市养犬管理条例"
        assert r.metadata["office"] == "徐州市人民代表大会常务委员会"
        assert r.metadata["effective_date"] == "2023-03-01 00:00:00"
        assert r.metadata["status"] == "有效"
        assert r.metadata["type"] == "地方性法规"
        assert "---" not in r.text and "download_link_word" not in r.text
        assert r.text.split("\n")[0] == "徐州市养犬管理条例"
        assert_clean_lines(r)

    def test_lawref_layout_headings_become_plain_lines(self, corpus_dir):
        r = convert_file(corpus_dir / "xuzhou" / "中华人民共和国法律援助法.md")
        lines = r.text.split("\n")
        assert r.metadata == {}
        assert lines[0] == "中华人民共和国法律援助法"
        assert lines[1].startswith("2021年8月20日")
        assert "第一章 总 则" in lines
        assert not any(line.startswith("#") or "INFO END" in line for line in lines)
        assert_articles(r, 71)

    def test_lawref_tree(self, corpus_dir):
        files = sorted((corpus_dir / "lawref").rglob("*.md"))[:200:20]
        assert files
        for f in files:
            r = convert_file(f)
            assert not any(line.startswith("#") for line in r.text.split("\n")), f
            assert_clean_lines(r)

    def test_front_matter_that_is_not_yaml(self, tmp_path):
        f = tmp_path / "x.md"
        f.write_text('---\ntitle: "某条例"\noffice: a: b: [\n---\n\n# 某条例\n\n第一条 为了测试。\n', encoding="utf-8")
        r = convert_file(f)
        assert r.metadata["title"] == "某条例"
        assert r.text == "某条例\n第一条 为了测试。"
        assert r.warnings


@pytest.mark.integration
class TestText:
    def test_gb18030_crlf_fullwidth_indent(self, corpus_dir):
        r = convert_file(corpus_dir / "formats" / "产品质量法.txt")
        assert r.source_format == "txt"
        assert any("gb18030" in w for w in r.warnings)
        assert r.text.split("\n")[0] == "中华人民共和国产品质量法"
        assert "\r" not in r.text
        assert_articles(r, 74)
        assert "\n第一条　为了加强对产品质量的监督管理，" in r.text
        assert_clean_lines(r)

    @pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16", "utf-16-le"])
    def test_encodings(self, tmp_path, encoding):
        body = "某某条例\r\n\r\n　　第一条　为了规范管理，制定本条例。　　\r\n　　第二条　本条例自公布之日起施行。\r\n"
        f = tmp_path / f"{encoding}.txt"
        f.write_bytes(body.encode(encoding))
        r = convert_file(f)
        assert r.text == "某某条例\n第一条　为了规范管理，制定本条例。\n第二条　本条例自公布之日起施行。"


@pytest.mark.integration
class TestHtml:
    def test_government_page_article_body_only(self, corpus_dir):
        r = convert_file(corpus_dir / "formats" / "职业病防治法.html")
        assert r.source_format == "html"
        lines = r.text.split("\n")
        assert lines[0] == "中华人民共和国职业病防治法"
        assert lines[1].startswith("2001年10月27日")
        assert "第一章 总则" in lines
        assert_articles(r, 88)
        # (关闭 and 打印 do occur in the law itself: "责令停建、关闭", so look for the page furniture phrases)
        for clutter in ("分享", "打印本页", "字体", "首页", "正文", "政策法规", "主办单位", "网站标识码", "ICP",
                        "_hmt", "color:", "微信", "微博"):
            assert clutter not in r.text, clutter
        assert lines[-1] == "第八十八条 本法自2002年5月1日起施行。"
        assert_clean_lines(r)

    def test_nav_table_layout_and_br(self, tmp_path):
        html = ("<html><head><meta charset='gbk'><title>t</title></head><body>"
                "<table><tr><td class='menu'><a href='/'>首页</a> <a>政策法规</a></td></tr>"
                "<tr><td><div id='zoom'><p align=center>某市条例</p>第一条　为了规范。<br>第二条　本条例施行。<br>"
                "第三条　附则。</div></td></tr></table><div class='footer'>版权所有 某市</div></body></html>")
        f = tmp_path / "page.htm"
        f.write_bytes(html.encode("gbk"))
        r = convert_file(f)
        assert r.text == "某市条例\n第一条　为了规范。\n第二条　本条例施行。\n第三条　附则。"


@pytest.mark.integration
class TestDocx:
    @pytest.mark.parametrize("name,expected", [
        ("formats/安全生产法.docx", 119), ("formats/法律援助法.docx", 71),
        ("real-files/中华人民共和国劳动法.docx", 107), ("real-files/工伤保险条例.docx", 67),
        ("real-files/中华人民共和国行政处罚法.docx", 86), ("real-files/中华人民共和国消费者权益保护法.docx", 63),
    ])
    def test_article_lines(self, corpus_dir, name, expected):
        r = convert_file(corpus_dir / name)
        assert r.source_format == "docx"
        assert_articles(r, expected)
        assert_clean_lines(r)

    def test_altchunk_web_part_is_read(self, corpus_dir):
        r = convert_file(corpus_dir / "real-files" / "中华人民共和国行政处罚法.docx")
        lines = r.text.split("\n")
        assert lines[0] == "中华人民共和国行政处罚法"
        assert "第一节 一般规定" in lines  # the "*" bullet of the web part is gone
        assert any("altChunk" in w for w in r.warnings)
        assert lines[-1] == "第八十六条 本法自2021年7月15日起施行。"

    def test_same_text_as_markdown(self, corpus_dir):
        docx = convert_file(corpus_dir / "formats" / "法律援助法.docx").text
        md = convert_file(corpus_dir / "xuzhou" / "中华人民共和国法律援助法.md").text
        a, b = squash(docx[docx.index("第一条"):]), squash(md[md.index("第一条"):])
        assert difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() > 0.99

    @pytest.mark.parametrize("charset,transfer", [("gb2312", "base64"), ("utf-8", "quoted-printable")])
    def test_altchunk_mhtml_encodings(self, tmp_path, charset, transfer):
        import base64
        import quopri

        html = "<html><body><h1>某市条例</h1><p>第一条　为了规范管理。</p><p>第二条　本条例施行。</p></body></html>"
        raw = html.encode(charset)
        payload = base64.encodebytes(raw) if transfer == "base64" else quopri.encodestring(raw)
        mht = (b'MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary="B"\r\n\r\n--B\r\n'
               + f"Content-Type: text/html; charset={charset}\r\nContent-Transfer-Encoding: {transfer}\r\n\r\n"
               .encode() + payload + b"\r\n--B--\r\n")
        f = tmp_path / "chunk.docx"
        _write_docx(f, '<w:altChunk xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
                       'r:id="c1"/>')
        with zipfile.ZipFile(f, "a") as z:
            z.writestr("word/_rels/document.xml.rels",
                       '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                       '<Relationship Id="c1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                       'relationships/aFChunk" Target="afchunk.mht"/></Relationships>')
            z.writestr("word/afchunk.mht", mht)
        r = convert_file(f)
        assert r.text == "某市条例\n第一条　为了规范管理。\n第二条　本条例施行。"

    def test_table_cells(self, tmp_path):
        f = tmp_path / "t.docx"
        _write_docx(f, '<w:p><w:r><w:t>某办法</w:t></w:r></w:p>'
                       '<w:tbl><w:tr><w:tc><w:p><w:r><w:t>违法行为</w:t></w:r></w:p></w:tc>'
                       '<w:tc><w:p><w:r><w:t>罚款</w:t></w:r></w:p></w:tc></w:tr></w:tbl>'
                       '<w:p><w:r><w:t>第一条</w:t></w:r><w:r><w:tab/><w:t>正文</w:t></w:r>'
                       '<w:del><w:r><w:delText>删掉的</w:delText></w:r></w:del></w:p>')
        assert convert_file(f).text == "某办法\n违法行为 罚款\n第一条 正文"


@pytest.mark.integration
class TestPdf:
    @pytest.mark.parametrize("name,expected", [
        ("formats/安全生产法.pdf", 119), ("formats/法律援助法.pdf", 71),
        ("real-files/上海市劳动合同条例.pdf", 62),
        ("real-files/中华人民共和国行政处罚法.pdf", 86), ("real-files/中华人民共和国消费者权益保护法.pdf", 63),
    ])
    def test_article_lines(self, corpus_dir, name, expected):
        r = convert_file(corpus_dir / name, limits=ConvertLimits(ocr_enabled=False))
        assert r.source_format == "pdf" and r.pages and not r.ocr_pages
        assert_articles(r, expected)
        assert_clean_lines(r)
        assert not any(PAGE_LEFTOVER_RE.match(line) for line in r.text.split("\n"))

    @pytest.mark.parametrize("pdf,docx", [
        ("formats/安全生产法.pdf", "formats/安全生产法.docx"),
        ("formats/法律援助法.pdf", "formats/法律援助法.docx"),
        ("real-files/中华人民共和国行政处罚法.pdf", "real-files/中华人民共和国行政处罚法.docx"),
        ("real-files/中华人民共和国消费者权益保护法.pdf", "real-files/中华人民共和国消费者权益保护法.docx"),
    ])
    def test_paragraphs_rejoined_like_the_docx(self, corpus_dir, pdf, docx):
        """Wrapped lines and articles broken across pages come back as the same paragraphs as the DOCX."""
        p = [squash(x) for x in convert_file(corpus_dir / pdf).text.split("\n")]
        d = [squash(x) for x in convert_file(corpus_dir / docx).text.split("\n")]
        body_p, body_d = p[p.index(next(x for x in p if x.startswith("第一条"))):], \
            d[d.index(next(x for x in d if x.startswith("第一条"))):]
        assert body_p == body_d

    def test_no_article_broken_into_two_lines(self, corpus_dir):
        r = convert_file(corpus_dir / "formats" / "安全生产法.pdf")
        lines = r.text.split("\n")
        first = next(i for i, x in enumerate(lines) if x.startswith("第一条"))
        for line in lines[first:]:
            if not re.match(r"第[一二三四五六七八九十]+章", line):
                assert line[-1] in "。；：！？）”:", line  # every paragraph ends a sentence: no mid-sentence breaks
        # 第三条 spans a page-internal wrap; 第九条 is broken across pages 2 and 3 in the PDF.
        art9 = next(x for x in lines if x.startswith("第九条"))
        assert art9.endswith("及时协调、解决安全生产监督管理中存在的重大问题。")
        assert lines[0] == "中华人民共和国安全生产法"

    def test_itext_layout(self, corpus_dir):
        r = convert_file(corpus_dir / "real-files" / "上海市劳动合同条例.pdf")
        lines = r.text.split("\n")
        assert lines[0] == "上海市劳动合同条例"
        # the page-2 paragraph that starts without indent still joins its wrapped tail
        assert "用人单位在招用劳动者时，有权了解劳动者健康状况、知识技能和工作经历等情况，劳动者应当如实说明。" in lines
        assert not any(line.startswith("，") for line in lines)


@pytest.mark.integration
@pytest.mark.slow
class TestOcr:
    def test_scanned_pdf(self, corpus_dir, capsys):
        t0 = time.monotonic()
        r = convert_file(corpus_dir / "formats" / "法律援助法_扫描件.pdf", progress=True)
        seconds = time.monotonic() - t0
        assert "OCR" in capsys.readouterr().err  # the progress bar went to stderr
        assert r.ocr_pages == [1, 2, 3]
        nums = article_numbers(r.text)
        expected = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二", "十三", "十四",
                    "十五", "十六", "十七"]
        assert nums[:17] == expected
        md = convert_file(corpus_dir / "xuzhou" / "中华人民共和国法律援助法.md").text
        a = squash(r.text[: r.text.index("第十八条")])
        b = squash(md[: md.index("第十八条")])
        ratio = difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()
        print(f"OCR similarity {ratio:.4f}, {seconds / 3:.1f} s/page")
        assert ratio >= 0.95
        assert r.text.split("\n")[1].startswith("（2021年8月20日")

    def test_ocr_disabled(self, corpus_dir):
        with pytest.raises(NoArticlesFound) as e:
            convert_file(corpus_dir / "formats" / "法律援助法_扫描件.pdf", limits=ConvertLimits(ocr_enabled=False))
        assert "OCR" in e.value.message


# ------------------------------------------------------------------------------------ paragraph re-joining


class TestLayout:
    def _page(self, page, rows, left=90, right=522, size=12, indent=24, pitch=20):
        out = []
        for i, (text, ind) in enumerate(rows):
            x0 = left + (indent if ind else 0)
            out.append(Line(text, page, x0=x0, x1=min(right, x0 + len(text) * size), top=100 + i * pitch,
                            size=size))
        return out

    def test_rejoin_across_lines_and_pages(self):
        p1 = self._page(1, [("第一条　本条例所称安全生产，是指生产经营单位在生产经营活动中", True),
                            ("防止和减少生产安全事故的各项工作，为此制定本条例。各级人民政府", False),
                            ("应当加强领导。", False),
                            ("第二条　本条例适用于本行政区域内的生产经营单位和有关部门，其他", True),
                            ("法律另有规定的除外。下列单位应当设立安全生产管理机构：有关工作", False)])
        p2 = self._page(2, [("由市人民政府规定：", False), ("（一）矿山；", True), ("（二）建筑施工单位。", True)])
        out = join_paragraphs(p1 + p2)
        assert out == [
            "第一条　本条例所称安全生产，是指生产经营单位在生产经营活动中防止和减少生产安全事故的各项工作，"
            "为此制定本条例。各级人民政府应当加强领导。",
            "第二条　本条例适用于本行政区域内的生产经营单位和有关部门，其他法律另有规定的除外。"
            "下列单位应当设立安全生产管理机构：有关工作由市人民政府规定：",
            "（一）矿山；", "（二）建筑施工单位。"]

    def test_quoted_article_at_line_start_is_not_a_new_article(self):
        out = join_paragraphs(self._page(1, [("第五条　违反本条例规定的，由有关部门责令改正；情节严重的，依照本法", True),
                                             ("第三十条规定处罚。", False)]))
        assert out == ["第五条　违反本条例规定的，由有关部门责令改正；情节严重的，依照本法第三十条规定处罚。"]

    def test_lines_without_geometry_use_punctuation(self):
        lines = [Line(t, 1) for t in ["某条例", "第一条　为了规范管理，", "制定本条例。", "本条例自公布之日起施行。"]]
        assert join_paragraphs(lines) == ["某条例", "第一条　为了规范管理，制定本条例。", "本条例自公布之日起施行。"]

    @pytest.mark.parametrize("text", ["─ 2 ─", "- 12 -", "— 3 —", "第 2 页", "第2页 共10页", "7", "3/10", "Page 4 of 9"])
    def test_page_numbers(self, text):
        assert is_page_number(text)

    @pytest.mark.parametrize("text", ["第二条　本法自公布之日起施行。", "（一）矿山；", "2021年", "第一章 总则"])
    def test_not_page_numbers(self, text):
        assert not is_page_number(text)

    def test_drop_page_furniture(self):
        cn = ["一", "二", "三", "四", "五"]
        pages = []
        for n in range(1, 6):
            pages.append([Line("某市安全生产条例", n), Line(f"第{cn[n - 1]}条　正文。", n),
                          Line(f"（{cn[n - 1]}）第{n}项内容；", n), Line(f"─ {n} ─", n)])
        out = drop_page_furniture(pages)
        assert [ln.text for ln in out[0]] == ["某市安全生产条例", "第一条　正文。", "（一）第1项内容；"]
        for i, page in enumerate(out[1:], start=2):
            assert [ln.text for ln in page] == [f"第{cn[i - 1]}条　正文。", f"（{cn[i - 1]}）第{i}项内容；"]

# ---------------------------------------------------------------------------------------------- bad input


def _write_docx(path: Path, body_xml: str) -> None:
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                                          'package/2006/content-types"/>')
        z.writestr("word/document.xml", f'<?xml version="1.0"?><w:document xmlns:w="{w}"><w:body>{body_xml}'
                                        f'</w:body></w:document>')


def _pdf_bytes(text_pages: int = 1) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(text_pages):
        writer.add_blank_page(width=200, height=200)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


class TestBadInput:
    def _raises(self, exc, path: Path, **kw) -> LawSearchError:
        with pytest.raises(exc) as info:
            convert_file(path, **kw)
        err = info.value
        assert err.path == str(path)
        assert re.search(r"[\u4e00-\u9fff]", err.message), "a Chinese message"
        assert isinstance(err, IngestError)
        return err

    @pytest.mark.parametrize("name", ["empty.txt", "empty.pdf", "empty.docx", "empty.md", "empty.html"])
    def test_empty(self, tmp_path, name):
        f = tmp_path / name
        f.write_bytes(b"")
        self._raises(EmptyFile, f)

    def test_whitespace_only(self, tmp_path):
        f = tmp_path / "blank.txt"
        f.write_text("\r\n　　\r\n  \n", encoding="utf-8")
        self._raises(EmptyFile, f)

    @pytest.mark.parametrize("name", ["random.pdf", "random.docx", "random.txt", "random.md", "random.dat"])
    def test_random_bytes(self, tmp_path, name):
        f = tmp_path / name
        f.write_bytes(b"\x00\x01" + os.urandom(4096))
        self._raises(CorruptFile, f)

    def test_truncated_pdf(self, tmp_path, corpus_dir):
        data = (corpus_dir / "formats" / "法律援助法.pdf").read_bytes()
        f = tmp_path / "truncated.pdf"
        f.write_bytes(data[: len(data) // 2])
        err = self._raises(CorruptFile, f)
        assert "截断" in err.message

    def test_pdf_with_garbage_inside(self, tmp_path):
        f = tmp_path / "broken.pdf"
        f.write_bytes(b"%PDF-1.7\n1 0 obj <</Type /Catalog /Pages 9 0 R>> endobj\n" + os.urandom(2000)
                      + b"\ntrailer <</Root 1 0 R>>\n%%EOF\n")
        self._raises(CorruptFile, f)

    def test_encrypted_pdf(self, tmp_path):
        from pypdf import PdfReader, PdfWriter

        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_pdf_bytes())))
        writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-128")
        f = tmp_path / "locked.pdf"
        with open(f, "wb") as out:
            writer.write(out)
        self._raises(EncryptedFile, f)

    def test_encrypted_pdf_with_empty_password_is_read(self, tmp_path, corpus_dir):
        from pypdf import PdfReader, PdfWriter

        writer = PdfWriter(clone_from=PdfReader(corpus_dir / "formats" / "法律援助法.pdf"))
        writer.encrypt(user_password="", owner_password="owner", algorithm="AES-128")
        f = tmp_path / "restricted.pdf"
        with open(f, "wb") as out:
            writer.write(out)
        assert_articles(convert_file(f), 71)

    def test_too_many_pages(self, tmp_path):
        f = tmp_path / "long.pdf"
        f.write_bytes(_pdf_bytes(5))
        err = self._raises(FileTooLarge, f, limits=ConvertLimits(max_pdf_pages=3))
        assert "5" in err.message

    def test_pdf_without_any_text(self, tmp_path):
        f = tmp_path / "blank.pdf"
        f.write_bytes(_pdf_bytes(2))
        self._raises(NoArticlesFound, f)

    def test_zip_bomb_docx(self, tmp_path):
        f = tmp_path / "bomb.docx"
        _write_docx(f, "<w:p><w:r><w:t>x</w:t></w:r></w:p>")
        with zipfile.ZipFile(f, "a", zipfile.ZIP_DEFLATED) as z:
            with z.open("word/media/big.bin", "w", force_zip64=True) as member:
                chunk = b"\0" * 2**20
                for _ in range(300):  # 300 MiB of zeros compress to about 300 KiB
                    member.write(chunk)
        assert f.stat().st_size < 2 * 2**20
        t0 = time.monotonic()
        err = self._raises(FileTooLarge, f)
        assert time.monotonic() - t0 < 1.0, "checked from the zip directory, nothing decompressed"
        assert "解压" in err.message

    def test_docx_member_lying_about_its_size(self, tmp_path):
        f = tmp_path / "liar.docx"
        _write_docx(f, "<w:p><w:r><w:t>" + "法" * 50000 + "</w:t></w:r></w:p>")
        data = bytearray(f.read_bytes())
        # Patch the uncompressed size of word/document.xml in the central directory to a small number.
        cd = data.rfind(b"PK\x01\x02", 0, data.rfind(b"word/document.xml"))
        data[cd + 24:cd + 28] = (100).to_bytes(4, "little")
        f.write_bytes(bytes(data))
        self._raises((CorruptFile, FileTooLarge), f)

    def test_docx_xml_entity_bomb(self, tmp_path):
        f = tmp_path / "lol.docx"
        w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
        lol = ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
               '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
               f'<w:document xmlns:w="{w}"><w:body><w:p><w:r><w:t>第一条 &d;</w:t></w:r></w:p></w:body></w:document>')
        with zipfile.ZipFile(f, "w") as z:
            z.writestr("word/document.xml", lol)
        try:
            r = convert_file(f)
        except IngestError:
            return
        assert "aaaaaaaaaa" not in r.text

    def test_corrupt_docx(self, tmp_path, corpus_dir):
        data = (corpus_dir / "formats" / "法律援助法.docx").read_bytes()
        f = tmp_path / "cut.docx"
        f.write_bytes(data[: len(data) // 3])
        self._raises(CorruptFile, f)

    def test_docx_with_broken_xml(self, tmp_path):
        f = tmp_path / "badxml.docx"
        with zipfile.ZipFile(f, "w") as z:
            z.writestr("word/document.xml", "<w:document><w:body><w:p>")
        self._raises(CorruptFile, f)

    @pytest.mark.parametrize("name,content", [
        ("sheet.xlsx", None), ("image.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 100),
        ("tool.exe", b"MZ\x90\x00" + b"\0" * 100), ("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100),
        ("photo.jpg", b"\xff\xd8\xff\xe0" + b"\0" * 100),
    ])
    def test_unsupported(self, tmp_path, name, content):
        f = tmp_path / name
        if content is None:
            with zipfile.ZipFile(f, "w") as z:
                z.writestr("xl/workbook.xml", "<workbook/>")
                z.writestr("[Content_Types].xml", "<Types/>")
        else:
            f.write_bytes(content)
        self._raises(UnsupportedFileType, f)

    def test_xlsx_renamed_docx_is_unsupported(self, tmp_path):
        f = tmp_path / "sheet.docx"
        with zipfile.ZipFile(f, "w") as z:
            z.writestr("xl/workbook.xml", "<workbook/>")
        self._raises(UnsupportedFileType, f)

    def test_too_big(self, tmp_path):
        f = tmp_path / "big.txt"
        f.write_bytes("第一条 内容。\n".encode() * 1000)
        self._raises(FileTooLarge, f, limits=ConvertLimits(max_file_bytes=1000))

    def test_encrypted_office_document(self, tmp_path):
        f = tmp_path / "locked.docx"  # password-protected OOXML is an OLE container with an EncryptionInfo stream
        f.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 500 + "EncryptionInfo".encode("utf-16-le")
                      + b"\0" * 500)
        self._raises(EncryptedFile, f)

    def test_limits_from_settings(self, tmp_path):
        from corpus.settings import Settings

        limits = ConvertLimits.from_settings(Settings(max_file_mb=1, ocr_enabled=False))
        assert limits.max_file_bytes == 2**20 and limits.ocr_enabled is False
        f = tmp_path / "big.txt"
        f.write_bytes(b"a" * (2**20 + 1))
        self._raises(FileTooLarge, f, limits=limits)

    def test_missing_file(self, tmp_path):
        self._raises(IngestError, tmp_path / "nope.txt")

    def test_content_wins_over_extension(self, tmp_path, corpus_dir):
        f = tmp_path / "actually-a-pdf.txt"
        f.write_bytes((corpus_dir / "formats" / "法律援助法.pdf").read_bytes())
        r = convert_file(f)
        assert r.source_format == "pdf"
        assert_articles(r, 71)
        g = tmp_path / "actually-text.pdf"
        g.write_text("某条例\n第一条 内容。\n", encoding="utf-8")
        r = convert_file(g)
        assert r.source_format == "txt" and r.warnings
