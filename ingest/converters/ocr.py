"""OCR of PDF pages without a text layer (rapidocr-onnxruntime), boxes ordered into positioned lines."""
from __future__ import annotations

import re
import sys
import threading
import time
from pathlib import Path
from statistics import median

from corpus.errors import CorruptFile, IngestError

from .layout import Line
from .textutil import ARTICLE_START_RE, is_cjk, text_width

# Render scanned pages near their native resolution, within these bounds (the detector misses thin lines
# such as the parenthesised adoption note when a low-resolution scan is blown up to 200 DPI).
_DPI_DEFAULT, _DPI_MIN, _DPI_MAX = 150, 100, 150
_engine = None
_engine_lock = threading.Lock()

# ASCII punctuation OCR emits inside Chinese text → the full-width form the texts use.
_FULLWIDTH_PUNCT = {",": "，", ";": "；", ":": "：", "?": "？", "!": "！", "(": "（", ")": "）"}
_ARTICLE_GLUED_RE = re.compile(r"^(第[零〇一二三四五六七八九十百千两]+条(?:之[一二三四五六七八九十]+)?)(?=[^\s\u3000，。、；：])")
_HEADING_GLUED_RE = re.compile(r"^(第[零〇一二三四五六七八九十百千两]+[编章节])(?=[\u4e00-\u9fff])")


def get_engine():
    """One RapidOCR engine per process (loading the models takes a second or two)."""
    global _engine
    with _engine_lock:
        if _engine is None:
            from rapidocr_onnxruntime import RapidOCR

            _engine = RapidOCR()
        return _engine


def _render(path: Path, page_numbers: list[int]):
    """Yield (page_no, RGB numpy image) for the given 1-based pages, rendered with PDFium."""
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(str(path), password="")
    except pdfium.PdfiumError as e:
        raise CorruptFile("PDF 页面无法渲染，不能进行 OCR", detail=str(e)) from None
    try:
        for no in page_numbers:
            page = doc[no - 1]
            try:
                bitmap = page.render(scale=_page_dpi(page) / 72)
                try:
                    img = bitmap.to_numpy()
                    if img.ndim == 3 and img.shape[2] == 4:
                        img = img[:, :, :3]
                    yield no, img.copy()
                finally:
                    bitmap.close()
            finally:
                page.close()
    finally:
        doc.close()


def _page_dpi(page) -> float:
    """The resolution of the page's largest image (a scan), clamped; the default without images."""
    import pypdfium2.raw as pdfium_raw

    best, dpi = 0.0, float(_DPI_DEFAULT)
    try:
        for obj in page.get_objects(filter=[pdfium_raw.FPDF_PAGEOBJ_IMAGE], max_depth=2):
            w_px, h_px = obj.get_px_size()
            left, bottom, right, top = obj.get_bounds()
            width_pt = right - left
            if w_px * h_px > best and width_pt > 72:
                best, dpi = float(w_px * h_px), w_px / (width_pt / 72)
    except Exception:  # noqa: BLE001 - odd image objects: keep the default resolution
        return float(_DPI_DEFAULT)
    return max(_DPI_MIN, min(_DPI_MAX, dpi))


def _fix_punct(text: str) -> str:
    chars = list(text)
    for i, ch in enumerate(chars):
        if ch in _FULLWIDTH_PUNCT:
            before = chars[i - 1] if i > 0 else ""
            after = chars[i + 1] if i + 1 < len(chars) else ""
            near_cjk = (before and (is_cjk(before) or before in "）》」")) or (after and (is_cjk(after) or after in "（《「"))
            paren_num = ch in "()" and (after in "一二三四五六七八九十" or before in "一二三四五六七八九十")
            if near_cjk or paren_num:
                chars[i] = _FULLWIDTH_PUNCT[ch]
    return "".join(chars)


def boxes_to_lines(result, page_no: int) -> list[Line]:
    """RapidOCR output [(box, text, score), ...] → positioned lines, top to bottom, boxes left to right."""
    items = []
    for box, text, _score in result or []:
        text = (text or "").strip()
        if not text:
            continue
        xs = [p[0] for p in box]
        ys = [p[1] for p in box]
        items.append((min(xs), max(xs), min(ys), max(ys), text))
    if not items:
        return []
    heights = [b - t for _l, _r, t, b, _x in items]
    h = median(heights)
    items.sort(key=lambda it: ((it[2] + it[3]) / 2, it[0]))
    rows: list[list[tuple]] = []
    for it in items:
        cy = (it[2] + it[3]) / 2
        if rows:
            last = rows[-1]
            ly = median((r[2] + r[3]) / 2 for r in last)
            if abs(cy - ly) <= 0.5 * h:
                last.append(it)
                continue
        rows.append([it])
    # Character pitch: box width over text width (in em) of the longer boxes.
    pitches = [(r - l) / text_width(t) for l, r, _t, _b, t in items if text_width(t) >= 6]
    size = median(pitches) if pitches else h
    lines = []
    for row in rows:
        row.sort(key=lambda it: it[0])
        text, x_end = "", None
        for l, r, _t, _b, piece in row:
            if x_end is not None and l - x_end > 0.6 * size:
                text += "\u3000"
            text += piece
            x_end = r
        text = _fix_punct(text)
        top = min(it[2] for it in row)
        line = Line(text, page_no, x0=row[0][0], x1=x_end, top=top, size=size, unit="ocr")
        lines.append(line)
    # OCR often glues "第一条为了…": put the separator back where the line starts a paragraph.
    for line in lines:
        m = _ARTICLE_GLUED_RE.match(line.text)
        if m and not ARTICLE_START_RE.match(line.text):
            line.text = m.group(1) + "\u3000" + line.text[m.end():]
        m = _HEADING_GLUED_RE.match(line.text)
        if m and len(line.text) <= 25 and not line.text.endswith(tuple("。；，")):
            line.text = m.group(1) + "\u3000" + line.text[m.end():]
    return lines


def ocr_pdf_pages(path: Path, page_numbers: list[int], *, deadline: float, progress: bool = False
                  ) -> dict[int, list[Line]]:
    """OCR the given 1-based pages; returns {page: lines}. A tqdm bar on stderr when progress=True."""
    engine = get_engine()
    out: dict[int, list[Line]] = {}
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(page_numbers), desc=f"OCR {path.name}", unit="页", file=sys.stderr, leave=False)
    try:
        for no, img in _render(path, page_numbers):
            if time.monotonic() > deadline:
                raise IngestError("文件处理超时（OCR）", code="convert_timeout", detail=f"在第 {no} 页")
            result, _elapsed = engine(img)
            out[no] = boxes_to_lines(result, no)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return out
