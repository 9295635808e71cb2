"""PDF: the pypdf text layer with positions, re-joined into paragraphs; pages without text go through OCR."""
from __future__ import annotations

import logging
import time
from pathlib import Path

import pypdf
from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError, PdfStreamError

from corpus.errors import CorruptFile, EncryptedFile, FileTooLarge, IngestError

from .layout import Line, drop_page_furniture, join_paragraphs
from .textutil import printable_ratio, text_width

# pypdf logs a warning for every oddity of real-world files; those belong in our warnings, not on stderr.
logging.getLogger("pypdf").setLevel(logging.ERROR)

_MIN_TEXT_CHARS = 10  # a page with fewer visible characters counts as having no text layer


def _mult(m, n):
    return [m[0] * n[0] + m[1] * n[2], m[0] * n[1] + m[1] * n[3],
            m[2] * n[0] + m[3] * n[2], m[2] * n[1] + m[3] * n[3],
            m[4] * n[0] + m[5] * n[2] + n[4], m[4] * n[1] + m[5] * n[3] + n[5]]


def open_pdf(path: Path, *, max_pages: int) -> pypdf.PdfReader:
    """Open a PDF, decrypting with the empty password when needed; map every failure to our errors."""
    with open(path, "rb") as f:
        f.seek(0, 2)
        size = f.tell()
        f.seek(max(0, size - 2048))
        tail = f.read()
        f.seek(0)
        head = f.read(1024)
    if b"%PDF-" not in head:
        raise CorruptFile("不是有效的 PDF 文件（缺少 %PDF 文件头）")
    if b"%%EOF" not in tail:
        raise CorruptFile("PDF 文件不完整（可能在传输中被截断）", detail="no %%EOF marker at the end")
    try:
        reader = pypdf.PdfReader(str(path), strict=False)
    except (PdfReadError, PdfStreamError, ValueError, KeyError, TypeError, AttributeError, IndexError,
            RecursionError, EOFError, OSError, AssertionError, ZeroDivisionError) as e:
        raise CorruptFile("PDF 文件已损坏，无法读取", detail=f"{type(e).__name__}: {e}") from None
    if reader.is_encrypted:
        try:
            ok = reader.decrypt("")
        except DependencyError as e:
            raise EncryptedFile("PDF 文件已加密，当前环境无法解密", detail=str(e)) from None
        except (PdfReadError, NotImplementedError, ValueError, KeyError) as e:
            raise EncryptedFile("PDF 文件已加密，无法读取", detail=str(e)) from None
        if not ok:
            raise EncryptedFile("PDF 文件已加密（需要打开密码），无法读取")
    try:
        n = len(reader.pages)
    except FileNotDecryptedError as e:
        raise EncryptedFile("PDF 文件已加密，无法读取", detail=str(e)) from None
    except (PdfReadError, PdfStreamError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as e:
        raise CorruptFile("PDF 文件已损坏（页面目录无法读取）", detail=f"{type(e).__name__}: {e}") from None
    if n == 0:
        raise CorruptFile("PDF 文件没有任何页面")
    if n > max_pages:
        raise FileTooLarge(f"PDF 页数过多（{n} 页，上限 {max_pages} 页）")
    return reader


def _page_lines(page, page_no: int) -> list[Line]:
    """Positioned lines of one page's text layer, top to bottom."""
    chunks: list[tuple[float, float, float, str]] = []

    def visit(text, cm, tm, font_dict, font_size):
        if not text:
            return
        m = _mult(tm, cm)
        scale = (m[2] ** 2 + m[3] ** 2) ** 0.5 or 1.0
        size = abs(font_size * scale) or 1.0
        pieces = text.split("\n")
        for k, piece in enumerate(pieces):
            if piece:  # whitespace-only pieces are kept: they are the 　 between 第X条 and its text
                chunks.append((m[4], m[5] - k * 1.2 * size, size, piece))

    plain = page.extract_text(visitor_text=visit) or ""
    if not chunks:
        # No usable positions: fall back to the plain text, one line per line, without geometry.
        return [Line(t, page_no) for t in plain.split("\n") if t.strip()]
    height = float(page.mediabox.height)
    chunks.sort(key=lambda c: (-c[1], c[0]))
    rows: list[list[tuple[float, float, float, str]]] = []
    for c in chunks:
        if rows and abs(rows[-1][0][1] - c[1]) <= 0.4 * max(c[2], rows[-1][0][2]):
            rows[-1].append(c)
        else:
            rows.append([c])
    lines = []
    for row in rows:
        row.sort(key=lambda c: c[0])
        size = max(c[2] for c in row)
        text, x_end = "", None
        for x, _y, sz, piece in row:
            if x_end is not None and x - x_end > 1.0 * sz and not text.endswith((" ", "\u3000")) \
                    and not piece.startswith((" ", "\u3000")):
                text += " "
            text += piece
            x_end = max(x_end or x, x + text_width(piece) * sz)
        if not text.strip():
            continue
        row = [c for c in row if c[3].strip()]
        body_size = max((c[2] for c in row if len(c[3].strip()) > 1), default=size)
        lines.append(Line(text, page_no, x0=row[0][0], x1=_x_end(row), top=height - row[0][1], size=body_size))
    return lines


def _x_end(row) -> float:
    return max(x + text_width(piece.rstrip()) * sz for x, _y, sz, piece in row)


def _has_images(page) -> bool:
    try:
        res = page.get("/Resources")
        xobj = res.get_object().get("/XObject") if res is not None else None
        return bool(xobj)
    except Exception:  # noqa: BLE001 - a damaged resource dictionary just means "no images"
        return False


def _visible(text: str) -> int:
    return sum(1 for ch in text if not ch.isspace())


def convert_pdf(path: Path, *, max_pages: int, ocr_enabled: bool, ocr_max_pages: int, deadline: float,
                progress: bool = False):
    """Return (paragraph lines, pages, ocr_pages, warnings)."""
    reader = open_pdf(path, max_pages=max_pages)
    n = len(reader.pages)
    warnings: list[str] = []
    pages: list[list[Line]] = []
    need_ocr: list[int] = []
    for i in range(n):
        if time.monotonic() > deadline:
            raise IngestError("文件处理超时", code="convert_timeout", detail=f"在第 {i + 1}/{n} 页")
        try:
            page = reader.pages[i]
            lines = _page_lines(page, i + 1)
        except (PdfReadError, PdfStreamError, ValueError, KeyError, TypeError, AttributeError, IndexError,
                ZeroDivisionError, AssertionError, RecursionError) as e:
            warnings.append(f"第 {i + 1} 页文字层无法读取（{type(e).__name__}）")
            lines, page = [], None
        text = "".join(ln.text for ln in lines)
        garbled = _visible(text) >= _MIN_TEXT_CHARS and printable_ratio(text) < 0.8
        if garbled:
            warnings.append(f"第 {i + 1} 页文字层是乱码（字体缺少编码表），改用 OCR")
        if _visible(text) < _MIN_TEXT_CHARS or garbled:
            if page is None or _has_images(page) or garbled:
                need_ocr.append(i + 1)
                lines = [] if garbled else lines
        pages.append(lines)

    ocr_done: list[int] = []
    if need_ocr:
        if not ocr_enabled:
            warnings.append(f"{len(need_ocr)} 页没有文字层（扫描件），OCR 已关闭，这些页未识别：{need_ocr[:20]}")
        else:
            todo = need_ocr[:ocr_max_pages]
            if len(need_ocr) > ocr_max_pages:
                warnings.append(f"需要 OCR 的页数 {len(need_ocr)} 超过上限 {ocr_max_pages}，其余页未识别")
            from .ocr import ocr_pdf_pages  # heavy import only when needed

            results = ocr_pdf_pages(path, todo, deadline=deadline, progress=progress)
            for page_no, lines in results.items():
                pages[page_no - 1] = lines
                ocr_done.append(page_no)
    pages = drop_page_furniture(pages)
    flat = [ln for lines in pages for ln in lines]
    paragraphs = join_paragraphs(flat)
    return paragraphs, n, sorted(ocr_done), warnings
