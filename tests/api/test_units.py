"""Fast checks of the API's pure parts: path scrubbing, key ids, upload sniffing, metrics text."""
from __future__ import annotations

import io
import re
import zipfile

import pytest

from api.audit import AuditLog, key_id
from api.errors import UploadTypeRejected, scrub
from api.metrics import Metrics
from api.uploads import check, sniff


def test_scrub_keeps_file_names_only():
    assert scrub("/work/main/data/uploads/2025/徐州市条例.md: 文件为空") == "徐州市条例.md: 文件为空"
    assert scrub(r"C:\Users\me\法规.docx 无法读取") == "法规.docx 无法读取"
    assert scrub("第二十条") == "第二十条"


def test_key_id_is_a_hash_prefix_not_the_key():
    kid = key_id("secret-admin-key")
    assert re.fullmatch(r"key-[0-9a-f]{12}", kid) and "secret" not in kid
    assert key_id("secret-admin-key") == kid and key_id("other") != kid
    assert key_id(None) == "anonymous"


def test_audit_log_round_trip(tmp_path):
    log = AuditLog(tmp_path / "audit.log")
    log.record(who="key-1", role="admin", action="upload", result="ok", target="u1", detail={"files": 1})
    log.record(who="key-2", role="reader", action="delete", result="denied: forbidden")
    entries = log.read()
    assert [e["who"] for e in entries] == ["key-2", "key-1"]
    assert entries[1]["detail"] == {"files": 1}
    assert log.read(limit=1)[0]["action"] == "delete"
    # people read the entry in Chinese, at the server's local time (with its offset)
    from datetime import datetime

    stamp = datetime.fromisoformat(entries[1]["time"])
    assert stamp.utcoffset() == datetime.fromtimestamp(entries[1]["ts"]).astimezone().utcoffset()
    assert entries[0]["message"] == "只读用户（key-2）删除法规 → 被拒绝：该密钥没有管理员权限"
    assert entries[1]["message"].startswith("管理员（key-1）上传法规文件：u1 → 成功")


def _docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


def _xlsx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
    return buf.getvalue()


@pytest.mark.parametrize("data,name,kind", [
    (b"%PDF-1.7\n...", "whatever.txt", "pdf"),
    (_docx(), "scan.pdf", "docx"),
    ("<!DOCTYPE html><html><body>第一条</body></html>".encode(), "law.md", "html"),
    ("# 条例\n第一条　内容".encode(), "law.md", "md"),
    ("第一条　内容".encode("gb18030"), "law.txt", "txt"),
    ("第一条　内容".encode("utf-16"), "law", "txt"),
])
def test_sniff_by_content(data, name, kind):
    assert sniff(io.BytesIO(data), name) == kind


@pytest.mark.parametrize("data,words", [
    (_xlsx(), "压缩包，或 .docx 以外的办公文件"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "旧版办公文档"),
    (b"\x00\x01\x02\xff\xfe\x00\x80" * 100, "不支持的文件类型"),
])
def test_sniff_rejects_other_formats(data, words):
    with pytest.raises(UploadTypeRejected) as err:
        sniff(io.BytesIO(data), "law.docx")
    assert words in err.value.message and err.value.http_status == 415


def test_check_enforces_size():
    from api.errors import UploadTooLarge
    from corpus.errors import EmptyFile

    with pytest.raises(UploadTooLarge):
        check(io.BytesIO(b"a" * (1024 * 1024 + 1)), "big.txt", max_mb=1)
    with pytest.raises(EmptyFile):
        check(io.BytesIO(b""), "empty.txt", max_mb=1)
    assert check(io.BytesIO("第一条".encode()), "ok.txt", max_mb=1).kind == "txt"


def test_metrics_text_format():
    m = Metrics(index_counts=lambda: {"points": 10, "versions": 3})
    m.observe("GET", "/api/search", 200, 0.03)
    m.observe("GET", "/api/search", 200, 0.7)
    m.observe("POST", "/api/ask", 400, 0.001)
    text = m.render().decode("utf-8")
    assert 'lawsearch_http_requests_total{method="GET",route="/api/search",status="200"} 2.0' in text
    assert 'lawsearch_http_request_duration_seconds_bucket{le="0.05",method="GET",route="/api/search"} 1.0' in text
    assert 'lawsearch_http_request_duration_seconds_bucket{le="1.0",method="GET",route="/api/search"} 2.0' in text
    assert 'lawsearch_http_request_duration_seconds_count{method="GET",route="/api/search"} 2.0' in text
    assert "lawsearch_index_points 10.0" in text and "lawsearch_index_versions 3.0" in text
    for line in text.splitlines():
        assert line.startswith("#") or re.match(r"^[a-z_]+(\{[^}]*\})? [0-9.e+-]+$", line), line


def test_metrics_without_an_index_leave_out_its_size():
    """While the app is starting (no runtime) or the index cannot answer, the scrape still succeeds."""

    def broken():
        raise RuntimeError("store closed")

    for counts in (lambda: None, broken):
        text = Metrics(index_counts=counts).render().decode("utf-8")
        assert "lawsearch_uptime_seconds" in text and "lawsearch_index_points" not in text
