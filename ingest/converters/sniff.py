"""Content sniffing: decide a file's format from its first bytes, with the extension only as a hint."""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

# Formats we convert.
MD, TXT, DOCX, HTML, PDF = "md", "txt", "docx", "html", "pdf"

# Extensions that name a format we never read (checked when the content does not say otherwise).
UNSUPPORTED_EXTENSIONS = {
    ".xlsx": "Excel 表格", ".xls": "Excel 表格", ".xlsm": "Excel 表格", ".csv": "CSV 表格",
    ".pptx": "PowerPoint 演示文稿", ".ppt": "PowerPoint 演示文稿",
    ".doc": "旧版 Word（.doc）文档，请另存为 .docx", ".wps": "WPS 文档，请另存为 .docx", ".rtf": "RTF 文档",
    ".odt": "OpenDocument 文档", ".ofd": "OFD 版式文件", ".epub": "电子书",
    ".png": "图片", ".jpg": "图片", ".jpeg": "图片", ".gif": "图片", ".bmp": "图片", ".tif": "图片",
    ".tiff": "图片", ".webp": "图片",
    ".exe": "可执行程序", ".dll": "可执行程序", ".so": "可执行程序", ".bin": "二进制文件",
    ".zip": "压缩包", ".rar": "压缩包", ".7z": "压缩包", ".gz": "压缩包", ".tar": "压缩包",
    ".mp3": "音频", ".mp4": "视频", ".wav": "音频",
}
TEXT_EXTENSIONS = {".txt", ".text", ""}
MD_EXTENSIONS = {".md", ".markdown"}
HTML_EXTENSIONS = {".html", ".htm", ".xhtml", ".shtml", ".mht", ".mhtml"}

# Magic numbers of binary formats we do not read: (prefix, description).
_FOREIGN_MAGIC = [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "旧版 Office 文档（.doc/.xls/.ppt），请另存为 .docx"),
    (b"\x89PNG\r\n\x1a\n", "PNG 图片"), (b"\xff\xd8\xff", "JPEG 图片"), (b"GIF87a", "GIF 图片"),
    (b"GIF89a", "GIF 图片"), (b"BM", None), (b"II*\x00", "TIFF 图片"), (b"MM\x00*", "TIFF 图片"),
    (b"MZ", None), (b"\x7fELF", "可执行程序"), (b"Rar!\x1a\x07", "RAR 压缩包"),
    (b"7z\xbc\xaf\x27\x1c", "7z 压缩包"), (b"\x1f\x8b", "gzip 压缩包"), (b"{\\rtf", "RTF 文档"),
]

_HTML_RE = re.compile(rb"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]|<meta\s[^>]*charset", re.I)
_MHT_RE = re.compile(rb"^mime-version:\s*1\.0.*?content-type:\s*multipart/related", re.I | re.S)


class Sniffed:
    """Result of sniffing: `kind` is one of MD/TXT/DOCX/HTML/PDF, or None with `foreign` naming what it is."""

    def __init__(self, kind: str | None, foreign: str | None = None, claimed: str | None = None):
        self.kind = kind
        self.foreign = foreign      # a description of an unsupported format, when kind is None
        self.claimed = claimed      # the format the extension claims, when the content disagrees

    def __repr__(self) -> str:
        return f"Sniffed({self.kind!r}, foreign={self.foreign!r}, claimed={self.claimed!r})"


def _claimed(ext: str) -> str | None:
    if ext == ".pdf":
        return PDF
    if ext == ".docx":
        return DOCX
    if ext in HTML_EXTENSIONS:
        return HTML
    if ext in MD_EXTENSIONS:
        return MD
    if ext in TEXT_EXTENSIONS:
        return TXT
    return None


def _zip_kind(path: Path) -> tuple[str | None, str | None]:
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None, None  # a broken zip: let the claimed converter report it
    if "word/document.xml" in names:
        return DOCX, None
    if any(n.startswith("xl/") for n in names):
        return None, "Excel 表格（.xlsx）"
    if any(n.startswith("ppt/") for n in names):
        return None, "PowerPoint 演示文稿（.pptx）"
    if "mimetype" in names or "content.xml" in names:
        return None, "OpenDocument 或电子书文件"
    return None, "ZIP 压缩包"


def sniff(path: Path, head: bytes) -> Sniffed:
    """Classify `path` from `head` (its first few KiB); opens the zip directory for PK files."""
    ext = path.suffix.lower()
    claimed = _claimed(ext)
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if b"%PDF-" in head[:1024]:
        return Sniffed(PDF)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        kind, foreign = _zip_kind(path)
        if kind:
            return Sniffed(kind)
        if foreign:
            return Sniffed(None, foreign)
        return Sniffed(claimed if claimed in (DOCX,) else None, "损坏的 ZIP 文件" if claimed != DOCX else None,
                       claimed=claimed)
    for magic, what in _FOREIGN_MAGIC:
        if head.startswith(magic):
            if what is None:  # short magic (BM, MZ) is only trusted together with the extension
                if ext in UNSUPPORTED_EXTENSIONS:
                    return Sniffed(None, UNSUPPORTED_EXTENSIONS[ext])
                continue
            return Sniffed(None, what)
    if ext in UNSUPPORTED_EXTENSIONS:
        return Sniffed(None, UNSUPPORTED_EXTENSIONS[ext])
    if _MHT_RE.search(stripped[:4096]):
        return Sniffed(HTML)
    if claimed == PDF or claimed == DOCX:
        # The extension promises a binary format the content does not have: the PDF/DOCX reader reports it.
        return Sniffed(claimed, claimed=claimed)
    if claimed == HTML or _HTML_RE.search(stripped[:4096]):
        return Sniffed(HTML)
    if claimed == MD:
        return Sniffed(MD)
    if claimed is None and ext and ext not in (".log", ".dat"):
        # An unknown extension with text content: read it as text, but say it is a guess.
        return Sniffed(TXT, claimed=None)
    return Sniffed(TXT)
