"""File converters: any supported file → logical lines of text (one paragraph per line) plus metadata.

    convert_file(path, limits=ConvertLimits(), progress=False) -> ConvertedText

The format is sniffed from the content (magic bytes, zip directory, HTML tags), the extension is only a hint.
Every failure is one of the IngestError subclasses from corpus.errors, with a Chinese message and `path` set.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from corpus.errors import (CorruptFile, EmptyFile, EncryptedFile, FileTooLarge, IngestError, LawSearchError,
                           NoArticlesFound, UnsupportedFileType)

from . import sniff as _sniff
from .textutil import clean_line, printable_ratio

__all__ = ["ConvertedText", "ConvertLimits", "convert_file", "SUPPORTED_FORMATS"]

SUPPORTED_FORMATS = ("md", "txt", "docx", "html", "pdf")


@dataclass
class ConvertedText:
    text: str                 # logical lines joined by "\n", one paragraph per line, no empty lines
    metadata: dict            # front-matter fields (id, title, office, publish, effective_date, ...) or {}
    source_format: str        # "md" | "txt" | "docx" | "html" | "pdf"
    pages: int | None = None
    ocr_pages: list[int] = field(default_factory=list)   # 1-based pages that went through OCR
    warnings: list[str] = field(default_factory=list)

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n") if self.text else []


@dataclass
class ConvertLimits:
    max_file_bytes: int = 50 * 2**20
    max_unzipped_bytes: int = 200 * 2**20
    max_pdf_pages: int = 2000
    ocr_enabled: bool = True
    ocr_max_pages: int = 200
    per_file_seconds: float = 300

    @classmethod
    def from_settings(cls, settings) -> "ConvertLimits":
        """Limits from corpus.settings.Settings (max_file_mb, max_unzipped_mb, max_pdf_pages, ocr_*): built once by
        the entry point's wiring and passed through to every conversion unchanged."""
        return cls(max_file_bytes=settings.max_file_mb * 2**20, max_unzipped_bytes=settings.max_unzipped_mb * 2**20,
                   max_pdf_pages=settings.max_pdf_pages, ocr_enabled=settings.ocr_enabled,
                   ocr_max_pages=settings.ocr_max_pages)


_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_OOXML = "EncryptionInfo".encode("utf-16-le")
_LEADING_BULLET_RE = re.compile(r"^[*•·]+\s*(?=第)")


def _finish(lines: list[str]) -> str:
    out = []
    for line in lines:
        line = _LEADING_BULLET_RE.sub("", clean_line(line))
        if line:
            out.append(line)
    return "\n".join(out)


def _looks_like_text(data: bytes) -> bool:
    from .text import decode_text

    try:
        text, _ = decode_text(data[:65536])
    except CorruptFile:
        return False
    return printable_ratio(text) > 0.98


def convert_file(path: Path, *, limits: ConvertLimits = ConvertLimits(), progress: bool = False) -> ConvertedText:
    """Convert one file. Raises an IngestError subclass (never a raw exception) for bad input."""
    path = Path(path)
    where = str(path)
    try:
        return _convert(path, limits, progress)
    except LawSearchError as e:
        if e.path is None:
            e.path = where
        raise
    except MemoryError:
        raise FileTooLarge("文件内容过大，内存不足以处理", path=where) from None
    except RecursionError:
        raise CorruptFile("文件结构嵌套过深，无法解析", path=where) from None
    except Exception as e:  # noqa: BLE001 - a hostile file must surface as a clear error, never a traceback
        raise CorruptFile("文件已损坏或格式无法解析", detail=f"{type(e).__name__}: {e}", path=where) from e


def _convert(path: Path, limits: ConvertLimits, progress: bool) -> ConvertedText:
    if not path.exists():
        raise IngestError("文件不存在", code="file_not_found")
    if not path.is_file():
        raise UnsupportedFileType("不是普通文件（可能是目录或设备）")
    size = path.stat().st_size
    if size == 0:
        raise EmptyFile("文件为空（0 字节）")
    if size > limits.max_file_bytes:
        raise FileTooLarge(f"文件过大（{size / 2**20:.1f} MB，上限 {limits.max_file_bytes / 2**20:.0f} MB）")
    with open(path, "rb") as f:
        head = f.read(8192)
    deadline = time.monotonic() + limits.per_file_seconds
    warnings: list[str] = []
    ext = path.suffix.lower()

    if head.startswith(_OLE_MAGIC) and ext in (".docx", ".xlsx", ".pptx"):
        data = path.read_bytes()
        if _ENCRYPTED_OOXML in data:
            raise EncryptedFile("Office 文档已加密（受密码保护），无法读取")
    found = _sniff.sniff(path, head)
    if found.kind is None:
        raise UnsupportedFileType(f"不支持的文件类型：{found.foreign or ext or '未知'}",
                                  detail=f"支持的格式：{', '.join(SUPPORTED_FORMATS)}")
    kind = found.kind
    # The extension promises PDF/DOCX but the bytes are something else: plain text is read as text,
    # anything else is a broken file of the claimed type.
    if (kind == _sniff.PDF and b"%PDF-" not in head[:1024]) or (kind == _sniff.DOCX and not head.startswith(b"PK")):
        data = path.read_bytes()
        if _looks_like_text(data):
            warnings.append(f"扩展名为 {ext}，但内容是纯文本，已按文本读取")
            kind = _sniff.HTML if _sniff._HTML_RE.search(data[:4096]) else _sniff.TXT
        else:
            what = "PDF" if kind == _sniff.PDF else "Word（DOCX）"
            raise CorruptFile(f"不是有效的 {what} 文件（文件内容与扩展名不符或已损坏）")

    if kind == _sniff.PDF:
        from .pdf import convert_pdf

        lines, pages, ocr_pages, w = convert_pdf(
            path, max_pages=limits.max_pdf_pages, ocr_enabled=limits.ocr_enabled,
            ocr_max_pages=limits.ocr_max_pages, deadline=deadline, progress=progress)
        result = ConvertedText(_finish(lines), {}, "pdf", pages=pages, ocr_pages=ocr_pages, warnings=warnings + w)
    elif kind == _sniff.DOCX:
        from .docx import convert_docx

        lines, meta, w = convert_docx(path, max_unzipped_bytes=limits.max_unzipped_bytes)
        result = ConvertedText(_finish(lines), meta, "docx", warnings=warnings + w)
    elif kind == _sniff.HTML:
        from .html import convert_html

        lines, meta, w = convert_html(path.read_bytes())
        result = ConvertedText(_finish(lines), meta, "html", warnings=warnings + w)
    else:
        from .markdown import convert_markdown
        from .text import decode_text, text_to_lines

        text, enc = decode_text(path.read_bytes())
        if kind == _sniff.MD:
            lines, meta, w = convert_markdown(text)
            result = ConvertedText(_finish(lines), meta, "md", warnings=warnings + w)
        else:
            result = ConvertedText(_finish(text_to_lines(text)), {}, "txt", warnings=warnings)
        if enc not in ("utf-8", "utf-8-sig"):
            result.warnings.append(f"文本编码：{enc}")
    if not result.text.strip():
        if result.source_format in ("txt", "md"):
            raise EmptyFile("文件中只有空白，没有文字")
        if result.source_format == "pdf" and not result.ocr_pages and not limits.ocr_enabled:
            raise NoArticlesFound("PDF 没有文字层（可能是扫描件），且 OCR 已关闭", detail="; ".join(result.warnings))
        raise NoArticlesFound("文件中没有可提取的文字", detail="; ".join(result.warnings))
    return result
