"""The parse report (`lawsearch bench parse`): counts, failures with reasons, numbering exceptions."""
from __future__ import annotations

import pytest

from corpus.model import Article, Regulation
from evaluation.parse_report import numbering_problems, parse_report


def _reg(numbers, has_articles=True):
    arts = [Article(regulation_title="某条例", article_no=n, article_suffix=s) for n, s in numbers]
    return Regulation(title="某条例", articles=arts, has_articles=has_articles)


class TestNumbering:
    def test_consecutive_with_inserted_articles_and_parts(self):
        reg = _reg([(1, ""), (2, ""), (2, "之一"), (2, "之二"), (3, ""), (3, "")])
        assert numbering_problems(reg) == []

    def test_gaps_starts_and_backwards(self):
        assert numbering_problems(_reg([(3, ""), (4, ""), (6, ""), (5, "")])) == [
            "从第3条开始", "第4条之后是第6条（缺1条）", "第6条之后又是第5条"]
        assert numbering_problems(_reg([(1, "")], has_articles=False)) == []


@pytest.mark.integration
class TestReport:
    def test_xuzhou_folder(self, corpus_dir, tmp_path):
        (tmp_path / "空.txt").write_bytes(b"")
        report = parse_report([corpus_dir / "xuzhou", tmp_path / "空.txt"], progress=False)
        assert report["files"] == 14 and report["parsed"] == 13
        assert [f["code"] for f in report["failed"]] == ["empty_file"]
        assert report["failed"][0]["reason"]
        assert report["non_consecutive"] == [] and report["no_articles"] == []
        # 28 + 50 + 50 + 77 + 43 + 50 + 71 + 31 + 54 + the 养犬/市容×2/文明行为 texts
        assert report["articles"] > 28 + 50 + 50 + 77 + 43 + 50 + 71 + 31 + 54
        assert report["formats"] == {"md": 13} and report["files_per_s"] > 0

    def test_reports_numbering_exceptions(self, corpus_dir):
        report = parse_report([corpus_dir / "lawref" / "民法典" / "合同编.md",
                               corpus_dir / "lawref" / "刑法" / "刑法修正案（七）.md"], progress=False)
        assert report["parsed"] == 2
        assert report["non_consecutive"] == [{"title": "中华人民共和国民法典",
                                              "path": str(corpus_dir / "lawref" / "民法典" / "合同编.md"),
                                              "reason": "从第463条开始"}]
        assert [x["title"] for x in report["no_articles"]] == ["中华人民共和国刑法修正案（七）"]
        assert report["paragraphs"] > 5
