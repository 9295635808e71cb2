"""The running server's address record and the Chinese name of the retrieval in use."""
from __future__ import annotations

import json
import os
import re

import pytest

from service.address import (
    ADDRESS_FILE,
    client_url,
    read_address,
    remove_address,
    write_address,
)
from service.wording import retrieval_words


def test_the_address_is_written_read_and_removed_by_its_own_process_only(tmp_path):
    assert read_address(tmp_path) is None
    write_address(tmp_path, "http://127.0.0.1:8123")
    found = read_address(tmp_path)
    assert found["url"] == "http://127.0.0.1:8123" and found["pid"] == os.getpid()
    # another server took the directory over since: its record stays
    (tmp_path / ADDRESS_FILE).write_text(json.dumps({"url": "http://127.0.0.1:9", "pid": os.getpid() + 1}))
    remove_address(tmp_path)
    assert read_address(tmp_path)["url"] == "http://127.0.0.1:9"
    write_address(tmp_path, "http://127.0.0.1:8123")
    remove_address(tmp_path)
    assert not (tmp_path / ADDRESS_FILE).exists()
    (tmp_path / ADDRESS_FILE).write_text("{broken")
    assert read_address(tmp_path) is None


@pytest.mark.parametrize("host,url", [("127.0.0.1", "http://127.0.0.1:80"), ("0.0.0.0", "http://127.0.0.1:80"),
                                      ("::", "http://[::1]:80"), ("localhost", "http://localhost:80")])
def test_client_url(host, url):
    assert client_url(host, 80) == url


@pytest.mark.parametrize("description", [
    "sparse: BM25 (bigram); dense: offline static word vectors (trained)",
    "sparse: BM25 (bigram); dense: offline static word vectors (untrained)",
    "sparse: BM25 (bigram); dense: none (lexical only)",
    "citation+sparse: BM25 (bigram); dense: offline static word vectors (trained); ranking: learned (LightGBM, 45 questions)",
    "citation", "citation_not_found",
])
def test_every_retrieval_description_of_ours_has_a_chinese_name(description):
    words = retrieval_words(description)
    assert words and not re.search(r"[A-Za-z]{2,}", words), words
    if "45 questions" in description:
        assert "45 个标注问题" in words and words.startswith("按条文引用直接定位")
