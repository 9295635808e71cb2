"""Admin routes: the auth matrix, upload limits and type sniffing (nothing written on rejection), ingest of an
uploaded regulation, delete, and the audit log."""
from __future__ import annotations

import io
import json
import re
import zipfile

import pytest

from tests.api.conftest import ADMIN_KEY, READER_KEY

pytestmark = pytest.mark.integration

NEW_REG = """# 测试市文明养猫规定

（2025年3月1日测试市人民代表大会常务委员会第一次会议通过）

第一条　为了规范养猫行为，维护公共秩序，制定本规定。

第二条　养猫人应当为猫只接种狂犬病疫苗，并办理登记。

第三条　违反本规定第二条规定，未为猫只接种疫苗的，由农业农村部门责令改正，处二百元以上五百元以下罚款。
"""


def _uploads(api_settings):
    d = api_settings.data_dir / "uploads"
    return sorted(p for p in d.rglob("*")) if d.exists() else []


def _audit(api_settings):
    path = api_settings.data_dir / "audit.log"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


ADMIN_ROUTES = [
    ("post", "/api/regulations", {"files": ("a.md", NEW_REG.encode("utf-8"), "text/markdown")}),
    ("delete", "/api/regulations/reg-doesnotexist", None),
    ("get", "/api/audit", None),
]


@pytest.mark.parametrize("method,path,files", ADMIN_ROUTES)
@pytest.mark.parametrize("key,status,code", [
    (None, 401, "unauthorized"), ("wrong-key", 401, "unauthorized"), (READER_KEY, 403, "forbidden"),
])
def test_auth_matrix_denies(client, api_settings, method, path, files, key, status, code):
    before = _uploads(api_settings)
    headers = {"X-API-Key": key} if key else {}
    kwargs = {"files": files} if files else {}
    r = getattr(client, method)(path, headers=headers, **kwargs)
    assert r.status_code == status, r.text
    assert r.json()["code"] == code and re.search(r"[\u4e00-\u9fff]", r.json()["message"])
    assert _uploads(api_settings) == before
    last = _audit(api_settings)[-1]
    assert last["result"].startswith("denied")
    if key:
        assert key not in json.dumps(_audit(api_settings), ensure_ascii=False)
        assert last["who"].startswith("key-")


def test_admin_passes_the_auth_check(client, admin):
    assert client.get("/api/audit", headers=admin).status_code == 200
    r = client.delete("/api/regulations/reg-doesnotexist", headers=admin)
    assert r.status_code == 404 and r.json()["code"] == "not_found"


def _docx_bytes(text: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"/>')
        z.writestr("word/document.xml", f'<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org'
                   f'/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>')
    return buf.getvalue()


@pytest.mark.parametrize("files,status,code,words", [
    ([("files", ("big.md", b"x" * (1024 * 1024 + 10), "text/markdown"))], 413, "file_too_large", "大小上限"),
    ([("files", (f"f{i}.md", NEW_REG.encode(), "text/markdown")) for i in range(4)], 413, "too_many_files", "最多"),
    ([("files", ("law.md", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "text/markdown"))], 415, "unsupported_type", "图片"),
    ([("files", ("law.pdf", b"\x00\x01\x02\x03binary\xff\xfe\x00" * 40, "application/pdf"))], 415, "unsupported_type",
     "不支持"),
    ([("files", ("sheet.docx", b"PK\x03\x04" + b"\x00" * 100, "application/octet-stream"))], 415, "unsupported_type",
     "文件"),
    # every file of the batch rejected: the request fails with the first reason, nothing is written
    ([("files", ("law.md", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "text/markdown")),
      ("files", ("evil.exe", b"MZ\x90\x00" + b"\x00" * 200, "application/octet-stream"))], 415, "unsupported_type",
     "图片"),
])
def test_rejected_uploads_write_nothing(client, api_settings, runtime, admin, files, status, code, words):
    before_files, before_points = _uploads(api_settings), runtime.index.counts()
    r = client.post("/api/regulations", headers=admin, files=files)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == code and words in body["message"] + body["detail"]
    assert re.search(r"[\u4e00-\u9fff]", body["message"])
    if code != "too_many_files":  # every file was looked at: each is reported with its reason
        assert [f["filename"] for f in body["files"]] == [f[1][0] for f in files]
        assert all(not f["ok"] and f["errors"][0]["message"] for f in body["files"])
    assert _uploads(api_settings) == before_files
    assert runtime.index.counts() == before_points
    last = _audit(api_settings)[-1]
    assert last["action"] == "upload" and last["result"] == f"rejected: {code}"


def test_one_bad_file_does_not_turn_the_batch_away(client, api_settings, runtime, admin):
    """A good file and a bad one: the good one is imported, the bad one reported with its reason (issue 13)."""
    files = [("files", ("evil.exe", b"MZ\x90\x00" + b"\x00" * 200, "application/octet-stream")),
             ("files", ("测试市文明养猫规定.md", NEW_REG.encode("utf-8"), "text/markdown")),
             ("files", ("empty.txt", b"", "text/plain"))]
    r = client.post("/api/regulations", headers=admin, files=files)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["result"] == "partial"
    bad, good, empty = body["files"]
    assert not bad["ok"] and bad["filename"] == "evil.exe" and bad["errors"][0]["code"] == "unsupported_type"
    assert "可执行程序" in bad["errors"][0]["message"] and bad["stored_as"] is None
    assert not empty["ok"] and empty["errors"][0]["code"] == "empty_file"
    assert good["ok"] and good["articles"] == 3 and good["regulations"][0]["title"] == "测试市文明养猫规定"
    stored = {p.name for p in (api_settings.data_dir / "uploads" / body["upload_id"]).iterdir()}
    assert stored == {"测试市文明养猫规定.md"}  # only what passed the checks is written
    entry = client.get("/api/audit", headers=admin).json()["entries"][0]
    assert entry["result"] == "partial" and entry["action"] == "upload"
    assert "evil.exe 未导入" in entry["message"] and "《测试市文明养猫规定》" in entry["message"], entry
    rid = good["regulations"][0]["regulation_id"]
    assert client.delete(f"/api/regulations/{rid}", headers=admin).status_code == 200


def test_path_traversal_names_are_neutralised():
    from api.uploads import safe_name

    assert safe_name("../../etc/passwd", 0) == "passwd"
    assert safe_name("..\\..\\windows\\system32\\cmd.exe", 0) == "cmd"
    assert safe_name("....", 2) == "upload-3"
    assert safe_name("徐州市 条例;rm -rf.md", 0) == "徐州市_条例_rm_-rf"
    assert "/" not in safe_name("a/b/../c", 0) and ".." not in safe_name("a..b..c.md", 0)


def test_upload_ingests_and_delete_removes(client, api_settings, runtime, admin):
    files = [("files", ("../../测试市文明养猫规定.md", NEW_REG.encode("utf-8"), "text/plain")),
             ("files", ("notes.docx", _docx_bytes("没有条文的一段文字。"), "application/octet-stream"))]
    r = client.post("/api/regulations", headers=admin, files=files)
    assert r.status_code == 200, r.text
    body = r.json()
    first, second = body["files"]
    assert first["ok"] and first["type"] == "md" and first["articles"] == 3
    reg = first["regulations"][0]
    assert reg["title"] == "测试市文明养猫规定"
    assert first["stored_as"] == "测试市文明养猫规定.md"
    stored = [p for p in _uploads(api_settings) if p.is_file()]
    assert any(p.name == "测试市文明养猫规定.md" for p in stored)
    root = (api_settings.data_dir / "uploads").resolve()
    assert all(p.resolve().is_relative_to(root) and not p.is_symlink() for p in stored)
    assert second["type"] == "docx"
    assert "/" not in json.dumps(body, ensure_ascii=False).replace("\\/", "")  # no file-system paths
    assert body["result"] in ("ok", "partial")

    # 测试市 is not the home region (徐州市): its text is searched when every region is asked for
    hit = client.get("/api/search", params={"q": "猫只接种狂犬病疫苗", "scope": "all"}).json()["hits"][0]
    assert hit["title"] == "测试市文明养猫规定" and hit["article_no"] == 2
    art = client.get(f"/api/regulations/{reg['regulation_id']}/articles/3").json()
    assert "二百元以上五百元以下罚款" in art["article"]["text"]

    log = _audit(api_settings)
    up = [e for e in log if e["action"] == "upload" and e["result"] in ("ok", "partial")][-1]
    assert up["who"].startswith("key-") and ADMIN_KEY not in json.dumps(log, ensure_ascii=False)
    assert up["detail"]["files"][0]["regulations"] and up["time"]

    r = client.delete(f"/api/regulations/{reg['regulation_id']}", headers=admin)
    assert r.status_code == 200 and r.json()["versions_deleted"] == 1
    assert client.get(f"/api/regulations/{reg['regulation_id']}").status_code == 404
    hits = client.get("/api/search", params={"q": "猫只接种狂犬病疫苗", "scope": "all"}).json()["hits"]
    assert all(h["title"] != "测试市文明养猫规定" for h in hits)
    last = client.get("/api/audit", headers=admin).json()["entries"][0]
    assert last["action"] == "delete" and last["result"] == "ok" and last["target"] == reg["regulation_id"]


def test_body_without_content_length_is_cut_off(client, api_settings, admin):
    """A chunked upload larger than the whole budget is refused while it streams in."""
    before = _uploads(api_settings)
    boundary = "lawsearchboundary"

    def body():
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.md\"\r\n"
               f"Content-Type: text/markdown\r\n\r\n").encode()
        chunk = "第一条　测试。\n".encode() * 4096
        for _ in range(200):  # ≈ 17 MB, more than 3 files × 1 MB
            yield chunk
        yield f"\r\n--{boundary}--\r\n".encode()

    r = client.post("/api/regulations", headers=dict(admin, **{"Content-Type": f"multipart/form-data; boundary={boundary}"}),
                    content=body())
    assert r.status_code == 413 and r.json()["code"] == "file_too_large"
    assert _uploads(api_settings) == before
