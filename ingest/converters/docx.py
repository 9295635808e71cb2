"""DOCX read with zipfile + lxml: paragraphs and table cells in body order, altChunk parts expanded in place.

Safety: the zip directory is checked against the limits before anything is decompressed (a zip bomb fails
fast), each member is read with a cap, and XML is parsed without entity expansion, DTDs or network access.
"""
from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path

from lxml import etree

from corpus.errors import CorruptFile, EncryptedFile, FileTooLarge

from .html import decode_html, html_to_lines, mhtml_to_html
from .text import decode_text, text_to_lines
from .textutil import clean_line

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_w = lambda tag: f"{{{W}}}{tag}"  # noqa: E731

_P, _T, _TAB, _BR, _CR, _TBL, _TR, _TC = (_w(t) for t in ("p", "t", "tab", "br", "cr", "tbl", "tr", "tc"))
_SDT, _SDT_CONTENT, _ALT_CHUNK, _CUSTOM_XML, _TXBX = (
    _w(t) for t in ("sdt", "sdtContent", "altChunk", "customXml", "txbxContent"))
_NOBREAK_HYPHEN, _SOFT_HYPHEN = _w("noBreakHyphen"), _w("softHyphen")
_FALLBACK = f"{{{MC}}}Fallback"


def _xml_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
                           dtd_validation=False, remove_comments=True, remove_pis=True)


class _Package:
    """A zip package whose members are read only within the limits."""

    def __init__(self, path: Path, max_unzipped: int):
        try:
            self.zf = zipfile.ZipFile(path)
        except zipfile.BadZipFile as e:
            raise CorruptFile("Word 文件已损坏（不是有效的 DOCX/ZIP 文件）", detail=str(e)) from None
        self.max_unzipped = max_unzipped
        infos = self.zf.infolist()
        total = 0
        for info in infos:
            if info.flag_bits & 0x1:
                raise EncryptedFile("Word 文件已加密，无法读取", detail=info.filename)
            if info.file_size > max_unzipped:
                raise FileTooLarge("Word 文件解压后过大（疑似压缩炸弹）",
                                   detail=f"{info.filename}: {info.file_size} 字节 > {max_unzipped}")
            total += info.file_size
        if total > max_unzipped:
            raise FileTooLarge("Word 文件解压后过大（疑似压缩炸弹）", detail=f"共 {total} 字节 > {max_unzipped}")
        self.infos = {info.filename: info for info in infos}

    def close(self) -> None:
        self.zf.close()

    def has(self, name: str) -> bool:
        return name in self.infos

    def read(self, name: str) -> bytes:
        info = self.infos[name]
        cap = min(info.file_size, self.max_unzipped)
        try:
            with self.zf.open(info) as f:
                data = f.read(cap + 1)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as e:
            raise CorruptFile("Word 文件已损坏（压缩数据无法解开）", detail=f"{name}: {e}") from None
        if len(data) > cap:
            raise FileTooLarge("Word 文件解压后过大（疑似压缩炸弹）", detail=name)
        return data

    def xml(self, name: str):
        try:
            return etree.fromstring(self.read(name), parser=_xml_parser())
        except etree.XMLSyntaxError as e:
            raise CorruptFile("Word 文件内容（XML）已损坏", detail=f"{name}: {e}") from None


def _main_part(pkg: _Package) -> str:
    """The main document part named by _rels/.rels (normally word/document.xml)."""
    if pkg.has("_rels/.rels"):
        try:
            rels = pkg.xml("_rels/.rels")
            for rel in rels.iter(f"{{{PKG_REL}}}Relationship"):
                if rel.get("Type", "").endswith("/officeDocument"):
                    target = rel.get("Target", "").lstrip("/")
                    if pkg.has(target):
                        return target
        except CorruptFile:
            pass
    if pkg.has("word/document.xml"):
        return "word/document.xml"
    raise CorruptFile("Word 文件缺少正文部分（word/document.xml）")


def _relationships(pkg: _Package, part: str) -> dict[str, str]:
    folder, name = posixpath.split(part)
    rels_name = posixpath.join(folder, "_rels", name + ".rels")
    if not pkg.has(rels_name):
        return {}
    out = {}
    for rel in pkg.xml(rels_name).iter(f"{{{PKG_REL}}}Relationship"):
        target = rel.get("Target", "")
        if rel.get("TargetMode") == "External" or not target:
            continue
        full = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        out[rel.get("Id", "")] = full
    return out


def _run_text(el, out: list[str]) -> None:
    """Text of a paragraph's descendants in order; nested paragraphs (text boxes) become line breaks."""
    for child in el:
        tag = child.tag
        if not isinstance(tag, str) or tag == _FALLBACK:
            continue
        if tag == _T:
            out.append(child.text or "")
        elif tag == _TAB:
            out.append(" ")
        elif tag in (_BR, _CR):
            out.append("\n")
        elif tag == _NOBREAK_HYPHEN:
            out.append("-")
        elif tag == _SOFT_HYPHEN:
            continue
        elif tag == _P:
            out.append("\n")
            _run_text(child, out)
            out.append("\n")
        else:
            _run_text(child, out)


def _paragraph_lines(p) -> list[str]:
    out: list[str] = []
    _run_text(p, out)
    return [ln for ln in (clean_line(x) for x in "".join(out).split("\n")) if ln]


def _cell_text(tc) -> str:
    parts = []
    for p in tc.iter(_P):
        if any(a.tag == _P for a in p.iterancestors()):
            continue  # counted with its outer paragraph
        parts.extend(_paragraph_lines(p))
    return " ".join(parts)


class _DocxReader:
    def __init__(self, pkg: _Package):
        self.pkg = pkg
        self.warnings: list[str] = []
        self.alt_chunks = 0

    def body_lines(self, part: str) -> list[str]:
        root = self.pkg.xml(part)
        self.rels = _relationships(self.pkg, part)
        body = root.find(_w("body"))
        if body is None:
            raise CorruptFile("Word 文件缺少正文（w:body）")
        lines: list[str] = []
        self._blocks(body, lines)
        return lines

    def _blocks(self, el, lines: list[str]) -> None:
        for child in el:
            tag = child.tag
            if not isinstance(tag, str):
                continue
            if tag == _P:
                lines.extend(_paragraph_lines(child))
            elif tag == _TBL:
                for tr in child.iter(_TR):
                    cells = [c for c in (_cell_text(tc) for tc in tr.iterchildren(_TC)) if c]
                    if cells:
                        lines.append(" ".join(cells))
            elif tag == _ALT_CHUNK:
                lines.extend(self._alt_chunk(child.get(f"{{{R}}}id", "")))
            elif tag in (_SDT, _SDT_CONTENT, _CUSTOM_XML) or tag.endswith("}smartTag"):
                self._blocks(child, lines)

    def _alt_chunk(self, rid: str) -> list[str]:
        target = self.rels.get(rid)
        if not target or not self.pkg.has(target):
            self.warnings.append(f"altChunk 部分缺失：{rid}")
            return []
        self.alt_chunks += 1
        data = self.pkg.read(target)
        head = data[:4096].lstrip().lower()
        if head.startswith(b"mime-version") or b"content-type: multipart/related" in head:
            html = mhtml_to_html(data)
            if html is None:
                self.warnings.append(f"altChunk {target} 中没有 HTML 正文")
                return []
            return html_to_lines(html)[0]
        if b"<html" in head or b"<body" in head or b"<!doctype" in head or b"<p" in head:
            return html_to_lines(decode_html(data))[0]
        if head.startswith(b"{\\rtf"):
            self.warnings.append(f"altChunk {target} 是 RTF 格式，未读取")
            return []
        try:
            return text_to_lines(decode_text(data)[0])
        except CorruptFile:
            self.warnings.append(f"altChunk {target} 无法识别，未读取")
            return []


def convert_docx(path: Path, *, max_unzipped_bytes: int) -> tuple[list[str], dict, list[str]]:
    pkg = _Package(path, max_unzipped_bytes)
    try:
        reader = _DocxReader(pkg)
        lines = reader.body_lines(_main_part(pkg))
        meta: dict = {}
        warnings = reader.warnings
        if reader.alt_chunks:
            warnings.append(f"正文来自内嵌网页部分（altChunk × {reader.alt_chunks}）")
        return lines, meta, warnings
    finally:
        pkg.close()
