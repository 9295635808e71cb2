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
    "sparse: BM25 (bigram); wording: learned (980 words from 981 questions); dense: offline static word vectors "
    "(trained); ranking: learned (LightGBM, 981 questions)",
    "sparse: BM25 (bigram); dense: offline static word vectors (trained); ranking: fused (the saved ranker was "
    "trained on other features: run lawsearch train)",
    "citation", "citation_not_found",
])
def test_every_retrieval_description_of_ours_has_a_chinese_name(description):
    words = retrieval_words(description)
    assert words and not re.search(r"[A-Za-z]{2,}", words.replace("lawsearch train", "")), words  # a command stays
    if "45 questions" in description:
        assert "45 个标注问题" in words and words.startswith("按条文引用直接定位")
    if "wording" in description:
        assert "学到 980 个日常用语" in words
    if "other features" in description:  # an old ranker after an upgrade: not used, and the user is told what to do
        assert "未使用" in words and "lawsearch train" in words


def test_a_version_shows_only_its_own_effective_date():
    from service.listing import own_effective_date

    # the 2021 amendment of 安全生产法 still ends with "本法自2002年11月1日起施行": not this version's date
    assert own_effective_date({"version_date": "2021-06-10", "effective_date": "2002-11-01"}) == ""
    assert own_effective_date({"version_date": "2024-12-09", "effective_date": "2025-02-01"}) == "2025-02-01"
    assert own_effective_date({"version_date": "", "effective_date": "2025-02-01"}) == "2025-02-01"
    assert own_effective_date({"version_date": "2024-12-09"}) == ""


def test_regulations_are_ordered_home_region_first():
    from service.listing import regulation_order

    rows = [{"title": "上海市劳动合同条例", "region": "上海市", "level": "地方性法规"},
            {"title": "工伤保险条例", "region": "全国", "level": "行政法规"},
            {"title": "中华人民共和国劳动法", "region": "全国", "level": "法律"},
            {"title": "江苏省安全生产条例", "region": "江苏省", "level": "地方性法规"},
            {"title": "徐州市安全生产条例", "region": "徐州市", "level": "地方性法规",
             "history": [{"event": "批准", "by": "江苏省第十三届人民代表大会常务委员会第十三次会议"}]}]
    titles = [r["title"] for r in regulation_order(rows, "徐州市")]
    assert titles == ["徐州市安全生产条例", "江苏省安全生产条例", "中华人民共和国劳动法", "工伤保险条例", "上海市劳动合同条例"]
