"""Plain text: detect the encoding by strict trial decodes, then one cleaned line per paragraph."""
from __future__ import annotations

from corpus.errors import CorruptFile

from .textutil import clean_lines, printable_ratio

_BOMS = [(b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
         (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")]


def _utf16_candidates(data: bytes) -> list[str]:
    """UTF-16 without a BOM: NUL bytes (from ASCII characters) mostly on one side of the byte pairs."""
    sample = data[:65536]
    if len(sample) < 4 or len(data) % 2:
        return []
    even_nul, odd_nul = sample[0::2].count(0), sample[1::2].count(0)
    if not even_nul and not odd_nul:
        return []
    return ["utf-16-le", "utf-16-be"] if odd_nul >= even_nul else ["utf-16-be", "utf-16-le"]


def decode_text(data: bytes, *, what: str = "文本") -> tuple[str, str]:
    """Decode bytes of a text file. Returns (text, encoding). Raises CorruptFile for binary content."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(enc).lstrip("\ufeff"), enc
            except UnicodeDecodeError as e:
                raise CorruptFile(f"{what}文件编码损坏，无法读取", detail=f"{enc}: {e.reason} @ {e.start}") from None
    for enc16 in _utf16_candidates(data):
        try:
            text = data.decode(enc16)
        except UnicodeDecodeError:
            continue
        if printable_ratio(text) > 0.97:
            return text, enc16
    if b"\x00" in data:
        raise CorruptFile(f"{what}文件包含二进制内容，不是文本文件", detail="NUL bytes")
    for enc in ("utf-8", "gb18030", "big5"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if printable_ratio(text) < 0.97:
            continue
        return text, enc
    raise CorruptFile(f"{what}文件无法识别编码（不是 UTF-8/GB18030/GBK/UTF-16 文本）或包含二进制内容",
                      detail="no encoding decodes cleanly")


def text_to_lines(text: str) -> list[str]:
    """Split into lines (CRLF/CR/LF, form feed) and clean them."""
    return clean_lines(text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n").split("\n"))


def convert_text(data: bytes) -> tuple[list[str], str]:
    text, enc = decode_text(data)
    return text_to_lines(text), enc
