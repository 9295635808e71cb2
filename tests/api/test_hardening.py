"""Regressions of server errors found by fuzzing the API (schemathesis and hand-written probes), and the request
body limit of non-upload requests. Over the real xuzhou session index."""
from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.integration

XZ_SAFETY = "徐州市安全生产条例"


def _reg_id(client, title: str) -> str:
    regs = client.get("/api/regulations").json()["regulations"]
    return next(r["regulation_id"] for r in regs if r["title"] == title)


@pytest.mark.parametrize("article", ["9223372036854775808", "99999999999999999999999", "第9223372036854775808条"])
def test_article_number_beyond_the_index_range_is_not_found(client, article):
    # Was a 500: the number went to the store as a filter value and overflowed its 64-bit integer.
    rid = _reg_id(client, XZ_SAFETY)
    r = client.get(f"/api/regulations/{rid}/articles/{article}")
    assert r.status_code == 404, r.text
    body = r.json()
    assert body["code"] == "not_found" and XZ_SAFETY in body["message"]
    assert re.search(r"[\u4e00-\u9fff]", body["message"])


def test_largest_stored_article_number_is_still_looked_up(client):
    rid = _reg_id(client, XZ_SAFETY)
    r = client.get(f"/api/regulations/{rid}/articles/9223372036854775807")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert client.get(f"/api/regulations/{rid}/articles/20").status_code == 200


def test_upload_body_is_described_in_the_schema(client):
    op = client.get("/api/openapi.json").json()["paths"]["/api/regulations"]["post"]
    schema = op["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert schema["required"] == ["files"] and schema["properties"]["files"]["items"]["format"] == "binary"
