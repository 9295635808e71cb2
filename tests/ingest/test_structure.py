"""The structure parser: titles, preambles, headings, 条/款/项, on real regulation files and small cases."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest.structure import clauses_from_lines, normalize_heading, parse_structure


def read_text(path: Path) -> tuple[str, dict]:
    """The converted text of a shared file (the converters' logical lines and front-matter metadata)."""
    from ingest.converters import convert_file

    converted = convert_file(path)
    return converted.text, dict(converted.metadata or {})


def parse_file(path: Path):
    text, meta = read_text(path)
    return parse_structure(text, title_hint=meta.get("title", ""))


def consecutive(parsed) -> bool:
    nums = parsed.article_numbers
    return all(b[0] == a[0] + 1 and not b[1] or (b[0] == a[0] and b[1]) for a, b in zip(nums, nums[1:]))


# ---------------------------------------------------------------------------------------------------------------
# Real files


@pytest.mark.integration
class TestXuzhouCounts:
    @pytest.mark.parametrize("name,count,chapters", [
        ("徐州市质量促进条例.md", 28, 0),
        ("徐州市安全生产条例_2019.md", 50, 6),
        ("徐州市安全生产条例_2024修正.md", 50, 6),
        ("江苏省安全生产条例_2023修订.md", 77, 6),
        ("江苏省法律援助条例_2005修订.md", 43, 7),
        ("江苏省法律援助条例_2024修订.md", 50, 6),
        ("中华人民共和国法律援助法.md", 71, 7),
        ("法律援助条例_2003.md", 31, 6),
        ("徐州市生活垃圾管理条例.md", 54, 8),
    ])
    def test_official_article_counts_consecutive_from_one(self, corpus_dir, name, count, chapters):
        p = parse_file(corpus_dir / "xuzhou" / name)
        assert p.has_articles
        assert [n for n, _ in p.article_numbers] == list(range(1, count + 1))
        assert consecutive(p)
        assert len({a.headings[0] for a in p.articles if a.headings}) == chapters
        assert not p.warnings

    def test_title_and_preamble_without_toc_duplicates(self, corpus_dir):
        p = parse_file(corpus_dir / "xuzhou" / "徐州市安全生产条例_2024修正.md")
        assert p.title == "徐州市安全生产条例"
        assert p.preamble.startswith("（2019年10月30日徐州市第十六届人民代表大会常务委员会第三十次会议通过")
        assert "目 录" in p.preamble or "目录" in p.preamble.replace(" ", "")
        # The 目录 lists the six chapters; the body has them once each, normalised.
        assert p.toc[:2] == ["第一章 总则", "第二章 生产经营单位的安全生产保障"]
        assert p.headings == ["第一章 总则", "第二章 生产经营单位的安全生产保障", "第三章 安全生产的监督管理",
                              "第四章 生产安全事故的应急救援和调查处理", "第五章 法律责任", "第六章 附则"]
        assert p.articles[0].headings == ["第一章 总则"]
        assert p.articles[-1].headings == ["第六章 附则"]
        assert not any(a.text.startswith("第") and "章" in a.text[:5] for a in p.articles)

    def test_unlabelled_chapter_headings(self, corpus_dir):
        p = parse_file(corpus_dir / "xuzhou" / "徐州市生活垃圾管理条例.md")
        assert p.headings == ["第一章 总则", "规划与建设", "源头减量", "分类投放", "分类收集、运输和处置", "监督管理",
                              "法律责任", "附则"]
        by_no = {a.article_no: a for a in p.articles}
        assert by_no[54].headings == ["附则"]
        assert by_no[54].text == "本条例自2020年12月1日起施行。"
        assert "规划与建设" not in by_no[8].text and "─" not in by_no[54].text

    def test_clauses_and_items(self, corpus_dir):
        p = parse_file(corpus_dir / "xuzhou" / "徐州市生活垃圾管理条例.md")
        a3 = next(a for a in p.articles if a.article_no == 3)
        assert a3.label == "第三条" and a3.citation == "《徐州市生活垃圾管理条例》第三条"
        assert [c.text[:6] for c in a3.clauses] == ["本市实行生活", "本市生活垃圾", "生活垃圾的具"]
        assert [i[:3] for i in a3.clauses[1].items] == ["（一）", "（二）", "（三）", "（四）"]
        assert a3.clauses[0].items == [] and a3.clauses[2].items == []
        assert a3.text.split("\n")[0] == "本市实行生活垃圾分类制度。"
        assert len(a3.text.split("\n")) == 7

    def test_sections_under_chapters(self, corpus_dir):
        p = parse_file(corpus_dir / "xuzhou" / "徐州市市容和环境卫生管理条例_2024修正.md")
        heads = {tuple(a.headings) for a in p.articles}
        assert ("第三章 市容管理", "第一节 停车和洗车管理") in heads
        assert ("第四章 环境卫生管理", "第二节 废弃物处理") in heads
        assert ("第五章 监督检查",) in heads
        assert consecutive(p)

    def test_inserted_articles_keep_their_suffix(self, corpus_dir):
        p = parse_file(corpus_dir / "lawref" / "刑法" / "刑法.md")
        labels = [a.label for a in p.articles]
        i = labels.index("第一百二十条之一")
        assert labels[i - 1] == "第一百二十条" and labels[i + 1] == "第一百二十条之二"
        a = p.articles[i]
        assert (a.article_no, a.article_suffix) == (120, "之一")
        assert a.headings[:2] == ["第二编 分则", "第二章 危害公共安全罪"]
        assert consecutive(p) and p.article_numbers[-1] == (452, "")

    def test_civil_code_book_file(self, corpus_dir):
        p = parse_file(corpus_dir / "lawref" / "民法典" / "合同编.md")
        assert p.title == "中华人民共和国民法典"
        assert p.article_numbers[0] == (463, "") and p.article_numbers[-1] == (988, "")
        assert consecutive(p)
        assert p.articles[0].headings == ["合同编", "第一分编 通则", "第一章 一般规定"]
        assert p.volume == "合同编"
        assert p.preamble.startswith("2020年5月28日")


    def test_no_article_text_becomes_paragraphs(self, corpus_dir):
        p = parse_file(corpus_dir / "lawref" / "刑法" / "刑法修正案（七）.md")
        assert not p.has_articles
        assert p.title == "中华人民共和国刑法修正案（七）"
        assert all(a.kind == "paragraph" for a in p.articles)
        assert [a.article_no for a in p.articles] == list(range(1, len(p.articles) + 1))
        assert p.articles[0].label == "第1段" and p.articles[0].citation.endswith("第1段")
        # Grouped by 一、二、三…: item 三 keeps its four quoted paragraphs together.
        third = next(a for a in p.articles if a.text.startswith("三、"))
        assert third.text.count("\n") == 3
        assert p.preamble == "2009年2月28日第十一届全国人民代表大会常务委员会第七次会议通过"

    def test_article_merged_into_previous_line_is_split(self, corpus_dir):
        p = parse_file(corpus_dir / "lawref" / "DLC" / "北京地方法规" / "地方性法规" / "北京"
                       / "北京市人民代表大会议事规则(2022-01-10).md")
        assert consecutive(p) and p.article_numbers[0] == (1, "")
        a15 = next(a for a in p.articles if a.article_no == 15)
        a16 = next(a for a in p.articles if a.article_no == 16)
        assert "第十六条" not in a15.text
        assert a16.text.startswith("市人民代表大会")

    def test_quoted_articles_of_an_amendment_are_not_articles(self, corpus_dir):
        p = parse_file(corpus_dir / "lawref" / "宪法" / "宪法修正案（2018年）.md")
        assert p.article_numbers[0] == (32, "") and p.article_numbers[-1] == (52, "")
        assert "第一百二十三条中华人民共和国各级监察委员会是国家的监察机关。" in p.articles[-1].text


@pytest.mark.integration
class TestOtherFormats:
    """The same parser on what the converters make of DOCX, PDF, TXT and HTML files."""

    def test_legal_aid_law_alike_from_md_docx_and_pdf(self, corpus_dir):
        import difflib

        base = parse_file(corpus_dir / "xuzhou" / "中华人民共和国法律援助法.md")
        for name in ("法律援助法.docx", "法律援助法.pdf"):
            other = parse_file(corpus_dir / "formats" / name)
            assert other.article_numbers == base.article_numbers == [(n, "") for n in range(1, 72)]
            assert [a.headings for a in other.articles] == [a.headings for a in base.articles]
            for a, b in zip(base.articles, other.articles):
                assert difflib.SequenceMatcher(None, a.text, b.text).ratio() >= 0.98, (name, a.label)

    @pytest.mark.parametrize("folder,name,count,chapters", [
        ("formats", "安全生产法.docx", 119, 7),
        ("formats", "安全生产法.pdf", 119, 7),
        ("formats", "产品质量法.txt", 74, 6),
        ("formats", "职业病防治法.html", 88, 7),
        ("real-files", "中华人民共和国行政处罚法.pdf", 86, 8),
        ("real-files", "中华人民共和国行政处罚法.docx", 86, 8),
        ("real-files", "中华人民共和国消费者权益保护法.pdf", 63, 8),
        ("real-files", "中华人民共和国消费者权益保护法.docx", 63, 8),
        ("real-files", "中华人民共和国劳动法.docx", 107, 13),
        ("real-files", "工伤保险条例.docx", 67, 8),
        ("real-files", "上海市劳动合同条例.pdf", 62, 7),
    ])
    def test_article_counts(self, corpus_dir, folder, name, count, chapters):
        p = parse_file(corpus_dir / folder / name)
        assert p.article_numbers == [(n, "") for n in range(1, count + 1)]
        assert len({a.headings[0] for a in p.articles if a.headings}) == chapters
        assert all(a.text and not re.match(r"第[一二三四五六七八九十百]+条", a.text) for a in p.articles)
        assert p.title.endswith(name.split(".")[0].removeprefix("中华人民共和国"))

    def test_pdf_and_docx_of_the_same_law_agree(self, corpus_dir):
        import difflib

        for stem in ("中华人民共和国行政处罚法", "中华人民共和国消费者权益保护法"):
            a = parse_file(corpus_dir / "real-files" / f"{stem}.pdf")
            b = parse_file(corpus_dir / "real-files" / f"{stem}.docx")
            ratios = [difflib.SequenceMatcher(None, x.text, y.text).ratio() for x, y in zip(a.articles, b.articles)]
            assert min(ratios) >= 0.95 and sum(ratios) / len(ratios) >= 0.99, stem

    @pytest.mark.slow
    def test_scanned_pdf_through_ocr(self, corpus_dir):
        p = parse_file(corpus_dir / "formats" / "法律援助法_扫描件.pdf")
        nums = [n for n, _ in p.article_numbers]
        assert nums[:1] == [1] and nums == list(range(1, len(nums) + 1)) and len(nums) >= 20
        assert p.title == "中华人民共和国法律援助法"


# ---------------------------------------------------------------------------------------------------------------
# Small cases


class TestSmallCases:
    def test_spaces_next_to_chinese_are_dropped(self):
        from ingest.structure import tidy_text

        assert tidy_text("本法自 2002 年 11 月 1 日起施行。") == "本法自2002年11月1日起施行。"
        assert tidy_text("通过  2019年11月29日") == "通过2019年11月29日"
        assert tidy_text("符合 GB 2760 标准") == "符合GB 2760标准"

    def test_heading_normalisation(self):
        assert normalize_heading("第一章　总　　则") == "第一章 总则"
        assert normalize_heading("第三编  合同") == "第三编 合同"
        assert normalize_heading("第二分编\u2002\u2002典型合同") == "第二分编 典型合同"
        assert normalize_heading("第一章总则") == "第一章 总则"
        assert normalize_heading("附　　则") == "附则"

    def test_citation_inside_a_line_is_not_an_article(self):
        text = ("某市条例\n第一条 为了规范管理，制定本条例。\n第二条 违反本条例\n第一条规定的，予以警告。\n"
                "依照本条例第一条的规定处理。\n第三条 本条例自2020年1月1日起施行。")
        p = parse_structure(text)
        assert p.article_numbers == [(1, ""), (2, ""), (3, "")]
        assert "第一条规定的" in p.articles[1].text

    def test_quoted_article_numbers_are_rejected_when_the_sequence_resumes(self):
        text = ("关于修改某条例的决定\n第一条 将第十五条修改为：\n“第十五条 新的内容。”\n第十五条 新的内容。\n"
                "第二条 本决定自公布之日起施行。")
        p = parse_structure(text)
        assert [n for n, _ in p.article_numbers] == [1, 2]
        assert "第十五条新的内容。" in p.articles[0].text

    def test_gap_is_kept_and_reported(self):
        p = parse_structure("某条例\n第一条 甲。\n第二条 乙。\n第四条 丁。\n第五条 戊。")
        assert [n for n, _ in p.article_numbers] == [1, 2, 4, 5]
        assert any("不连续" in w for w in p.warnings)

    def test_arabic_numbers_page_numbers_and_wrapped_title(self):
        text = ("最高人民法院关于审理某类纠纷案件适用\n法律若干问题的解释\n- 1 -\n第1条 为正确审理案件，制定本解释。\n"
                "─ 2 ─\n第2条 本解释自2024年1月1日起施行。\n3")
        p = parse_structure(text)
        assert p.title == "最高人民法院关于审理某类纠纷案件适用法律若干问题的解释"
        assert p.article_numbers == [(1, ""), (2, "")]
        assert p.articles[1].text == "本解释自2024年1月1日起施行。"

    def test_announcement_before_the_title(self):
        text = ("中华人民共和国主席令\n第八十八号\n《中华人民共和国安全生产法》已由第十三届全国人民代表大会常务委员会"
                "第二十九次会议于2021年6月10日通过，现予公布，自2021年9月1日起施行。\n中华人民共和国安全生产法\n"
                "（2002年6月29日第九届全国人民代表大会常务委员会第二十八次会议通过）\n第一章 总则\n"
                "第一条 为了加强安全生产工作，制定本法。\n第二条 本法自2002年11月1日起施行。")
        p = parse_structure(text)
        assert p.title == "中华人民共和国安全生产法"
        assert p.preamble.startswith("中华人民共和国主席令\n第八十八号\n") and "（2002年6月29日" in p.preamble
        assert p.article_numbers == [(1, ""), (2, "")] and p.articles[0].headings == ["第一章 总则"]

    def test_annex_after_the_last_article_is_not_article_text(self):
        p = parse_structure("某条例\n第一条 甲。\n第二条 本条例自公布之日起施行。\n附件：\n某某清单\n一、前言\n（一）说明。")
        assert p.articles[-1].text == "本条例自公布之日起施行。"
        assert p.appendix.startswith("附件：\n某某清单")

    def test_toc_when_the_body_headings_lost_their_labels(self):
        p = parse_structure("某条例\n目录\n第一章 总则\n第二章 附则\n总则\n第一条 甲。\n附则\n第二条 乙。")
        assert p.toc == ["第一章 总则", "第二章 附则"]
        assert p.headings == ["总则", "附则"]
        assert [a.headings for a in p.articles] == [["总则"], ["附则"]]

    def test_chapter_label_and_name_on_separate_lines(self):
        p = parse_structure("某条例\n第一章\n总则\n第一条 甲。\n第二章\n附则\n第二条 乙。")
        assert [a.headings for a in p.articles] == [["第一章 总则"], ["第二章 附则"]]

    def test_clauses_items_and_subitems(self):
        clauses = clauses_from_lines(["有下列情形之一的：", "（一）甲；", "1.子目一；", "2.子目二；", "（二）乙。",
                                      "前款规定的情形，另行处理。"])
        assert [c.text for c in clauses] == ["有下列情形之一的：", "前款规定的情形，另行处理。"]
        assert clauses[0].items == ["（一）甲；\n1.子目一；\n2.子目二；", "（二）乙。"]
        only_numbers = clauses_from_lines(["包括：", "1. 甲；", "2. 乙。"])
        assert only_numbers[0].items == ["1. 甲；", "2. 乙。"]

    def test_text_without_articles_is_split_into_paragraphs(self):
        p = parse_structure("关于某事项的决定\n（2020年1月1日某市人民代表大会常务委员会第一次会议通过）\n"
                            "为了做好某事项，作如下决定：\n一、加强领导。\n二、强化保障。\n本决定自公布之日起施行。")
        assert not p.has_articles
        assert p.preamble.startswith("（2020年1月1日")
        assert [a.text for a in p.articles] == ["为了做好某事项，作如下决定：", "一、加强领导。", "二、强化保障。\n本决定自公布之日起施行。"]
        assert [a.label for a in p.articles] == ["第1段", "第2段", "第3段"]

    def test_empty_text(self):
        p = parse_structure("")
        assert p.articles == [] and not p.has_articles
        assert re.search("正文", " ".join(p.warnings))


# ---------------------------------------------------------------------------------------------------------------
# Long-article split (ingest.split)


class TestSplit:
    def _article(self, text: str):
        from corpus.model import Article

        return Article(regulation_title="某条例", article_no=7, article_suffix="之一", headings=["第二章 管理"],
                       clauses=clauses_from_lines(text.split("\n")), text=text)

    def test_short_articles_are_untouched(self):
        from ingest.split import split_long_articles

        a = self._article("甲。\n乙。")
        assert split_long_articles([a], max_chars=512) == [a]

    def test_split_at_clause_and_item_boundaries(self):
        from ingest.split import split_long_articles

        lines = ["有下列情形之一的，由主管部门责令改正：" + "甲" * 40] + [f"（{n}）" + "乙" * 50 + "；" for n in "一二三四五六"]
        lines.append("前款规定以外的，" + "丙" * 60 + "。")
        text = "\n".join(lines)
        parts = split_long_articles([self._article(text)], max_chars=160)
        assert len(parts) > 1 and all(len(p.text) <= 160 for p in parts)
        assert [p.part for p in parts] == list(range(len(parts))) and {p.parts for p in parts} == {len(parts)}
        assert {(p.article_no, p.article_suffix, p.label, p.citation) for p in parts} == {
            (7, "之一", "第七条之一", "《某条例》第七条之一")}
        assert all(p.headings == ["第二章 管理"] for p in parts)
        # Cuts fall between lines: every part is a run of whole lines of the article.
        assert "\n".join(p.text for p in parts) == text
        second = parts[1]
        assert second.clauses[0].text == "" and second.clauses[0].items[0].startswith("（")

    def test_a_single_long_line_is_cut_at_sentence_ends(self):
        from ingest.split import split_long_articles

        sentence = "生产经营单位应当建立健全安全生产责任制" + "和" * 30 + "。"
        text = sentence * 12
        parts = split_long_articles([self._article(text)], max_chars=200)
        assert len(parts) >= 3 and all(len(p.text) <= 200 for p in parts)
        assert "".join(p.text for p in parts) == text
        assert all(p.text.endswith("。") for p in parts)

    def test_text_without_any_punctuation_is_hard_cut(self):
        from ingest.split import split_long_articles

        text = "字" * 1000
        parts = split_long_articles([self._article(text)], max_chars=300)
        assert [len(p.text) for p in parts] == [300, 300, 300, 100]

    @pytest.mark.integration
    def test_real_long_articles(self, corpus_dir):
        from ingest.split import split_long_articles

        p = parse_file(corpus_dir / "xuzhou" / "江苏省安全生产条例_2023修订.md")
        parts = split_long_articles(p.articles, max_chars=256)
        assert len(parts) > len(p.articles)
        for a in p.articles:
            mine = [x for x in parts if x.article_no == a.article_no]
            assert "".join(x.text for x in mine).replace("\n", "") == a.text.replace("\n", "")
            assert all(len(x.text) <= 256 for x in mine)
