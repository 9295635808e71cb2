"""Uploaded files: limits, content sniffing (never the client's name), and safe storage under <data_dir>/uploads/.

Each file of a request is checked on its own: the files that pass are written and imported, the others are reported
with their reason (`rejected`), so one bad file never turns a batch away. A request whose every file fails the
checks writes nothing.
"""
from __future__ import annotations

import codecs
import re
import unicodedata
import uuid
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

from api.errors import UploadTooLarge, UploadTypeRejected, scrub
from corpus.errors import EmptyFile, LawSearchError

MB = 1024 * 1024
CHUNK = 1024 * 1024
EXTENSIONS = {"pdf": ".pdf", "docx": ".docx", "html": ".html", "md": ".md", "txt": ".txt"}
_HTML = re.compile(rb"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]|<meta\s[^>]*charset|<p[\s>]|<div[\s>]", re.I)
_FOREIGN = [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "旧版办公文档（.doc、.xls、.ppt），请另存为 .docx"),
    (b"\x89PNG\r\n\x1a\n", "PNG 图片"), (b"\xff\xd8\xff", "JPEG 图片"), (b"GIF8", "GIF 图片"),
    (b"\x7fELF", "可执行程序"), (b"MZ", "可执行程序"), (b"Rar!", "RAR 压缩包"), (b"7z\xbc\xaf", "7z 压缩包"),
    (b"\x1f\x8b", "gzip 压缩包"), (b"{\\rtf", "RTF 文档"),
]
_UNSAFE = re.compile(r"[^\w\u4e00-\u9fff（）()《》〔〕\[\]·\-—_.]+")


@dataclass
class CheckedFile:
    """An upload that passed every check, not yet written."""

    client_name: str  # sanitised base name, for messages and the stored name
    kind: str  # pdf | docx | html | md | txt
    size: int
    source: BinaryIO


def safe_name(client_name: str, index: int) -> str:
    """A base name safe to create: no directories, no '..', no control or shell characters, ≤ 80 characters."""
    base = (client_name or "").replace("\\", "/").split("/")[-1]
    base = unicodedata.normalize("NFC", base)
    stem = base.rsplit(".", 1)[0] if "." in base.strip(".") else base
    stem = _UNSAFE.sub("_", stem).strip("._- ")
    stem = re.sub(r"\.{2,}", "_", stem)[:80]
    return stem or f"upload-{index + 1}"


def _decodes(data: bytes) -> bool:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            data.decode("utf-16")
            return True
        except UnicodeDecodeError:
            return False
    if b"\x00" in data:
        return False
    for enc in ("utf-8-sig", "gb18030"):
        try:
            data.decode(enc)
            return True
        except UnicodeDecodeError:
            continue
    return False


def sniff(source: BinaryIO, client_name: str) -> str:
    """The format from the content: %PDF, a zip with word/document.xml, or decodable text (HTML or plain).

    The client's extension only tells Markdown from plain text once the content is known to be text."""
    source.seek(0)
    head = source.read(8192)
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        source.seek(0)
        try:
            with zipfile.ZipFile(source) as zf:
                names = set(zf.namelist())
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            raise UploadTypeRejected("文件已损坏，或不是有效的 .docx 文档", detail=client_name)
        if "word/document.xml" in names:
            return "docx"
        raise UploadTypeRejected("不支持的文件类型：压缩包，或 .docx 以外的办公文件", detail=client_name)
    for magic, what in _FOREIGN:
        if head.startswith(magic):
            raise UploadTypeRejected(f"不支持的文件类型：{what}", detail=client_name)
    source.seek(0)
    data = source.read()
    if not _decodes(data):
        raise UploadTypeRejected("不支持的文件类型：内容既不是 .pdf、.docx 文件，也不是可识别编码的文本或网页",
                                 detail=client_name)
    if _HTML.search(data.lstrip(b"\xef\xbb\xbf \t\r\n")[:4096]):
        return "html"
    ext = client_name.lower().rsplit(".", 1)[-1] if "." in client_name else ""
    return "md" if ext in ("md", "markdown") else "txt"


def measure(source: BinaryIO, limit: int) -> int:
    """The size of a (spooled) upload, reading at most `limit + 1` bytes."""
    source.seek(0)
    size = 0
    while True:
        chunk = source.read(CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            break
    source.seek(0)
    return size


def check(source: BinaryIO, client_name: str, *, max_mb: int) -> CheckedFile:
    limit = max_mb * MB
    size = measure(source, limit)
    if size > limit:
        raise UploadTooLarge(f"文件超过大小上限（每个文件不超过 {max_mb} MB）", detail=client_name)
    if size == 0:
        raise EmptyFile("文件为空", detail=client_name)
    kind = sniff(source, client_name)
    return CheckedFile(client_name=client_name, kind=kind, size=size, source=source)


def rejected(client_name: str, exc: LawSearchError) -> dict:
    """The per-file result of a file turned away by the checks (nothing of it is written)."""
    return {"filename": client_name, "stored_as": None, "type": None, "size": None, "ok": False, "regulations": [],
            "articles": 0, "points": 0, "unchanged": False,
            "errors": [{"code": exc.code, "message": exc.message, "detail": scrub(exc.detail)}]}


def store(files: list[CheckedFile], uploads_dir: Path) -> tuple[str, list[Path]]:
    """Write checked files into a new directory of their own. Returns (upload id, paths)."""
    upload_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:12]
    uploads_dir.mkdir(parents=True, exist_ok=True)
    target = uploads_dir / upload_id
    target.mkdir(mode=0o750)  # new and ours: nothing inside can be a pre-existing link
    paths, used = [], set()
    for i, f in enumerate(files):
        stem = safe_name(f.client_name, i)
        name = stem + EXTENSIONS[f.kind]
        n = 2
        while name in used:
            name = f"{stem}-{n}{EXTENSIONS[f.kind]}"
            n += 1
        used.add(name)
        path = target / name
        f.source.seek(0)
        with open(path, "xb") as out:  # exclusive create: never follows or overwrites anything
            while True:
                chunk = f.source.read(CHUNK)
                if not chunk:
                    break
                out.write(chunk)
        paths.append(path)
    return upload_id, paths
