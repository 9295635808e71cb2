"""The grounded answer composer on real article texts (parsed from ../shared/corpus/xuzhou), with a canned search
function instead of the index, and a Fake chat generator for the rephrasing check."""
from __future__ import annotations

import pytest

from search.answer import NOTHING_FOUND, AnswerComposer, FullArticle, article_units, verify_generated
from search.query import analyse


@pytest.fixture(scope="module")
def safety_hits(corpus_dir):
    """Search-hit dicts for every article of 徐州市安全生产条例 (2024), as the engine returns them."""
    from ingest.pipeline import parse_files

    regs, failures = parse_files([corpus_dir / "xuzhou" / "徐州市安全生产条例_2024修正.md"])
    assert not failures and len(regs) == 1
    reg = regs[0]
    hits = {}
    for a in reg.articles:
        hits[a.label] = {
            "regulation_id": reg.regulation_id, "version_id": reg.version_id, "title": reg.title,
            "short_title": reg.short_title, "article_no": a.article_no, "article_suffix": a.article_suffix,
            "label": a.label, "headings": a.headings, "text": a.text,
            "clauses": [{"text": c.text, "items": c.items} for c in a.clauses],
            "is_penalty": any("法律责任" in h for h in a.headings), "citation": a.citation, "score": 1.0,
            "snippet": "", "level": reg.level, "region": reg.region, "is_current": True}
    return hits


def canned(hits):
    def search(query, *, top_k=10, filters=None):
        return {"query": query, "mode": "test", "candidates": [], "hits": list(hits)[:top_k]}
    return search


class FakeChatGenerator:
    """Stands in for OpenAIChatGenerator: returns a fixed reply and records the prompt it was given."""

    def __init__(self, reply: str | None = None, fail: bool = False):
        self.reply = reply
        self.fail = fail
        self.prompts: list[str] = []

    def run(self, messages):
        from haystack.dataclasses import ChatMessage

        self.prompts.append("\n".join(m.text or "" for m in messages))
        if self.fail:
            raise ConnectionError("LLM server unreachable")
        return {"replies": [ChatMessage.from_assistant(self.reply)]}


def test_answer_terms_drop_question_words():
    assert analyse("工厂没有给工人发劳动防护用品怎么办").answer_terms == ("工厂", "工人", "劳动", "防护用品")
    assert analyse("乱扔垃圾会被罚多少钱").answer_terms == ("乱扔", "垃圾")
    assert analyse("工厂没有给工人发劳动防护用品怎么办").breach
    assert not analyse("安全生产委员会由谁组成").breach


def test_units_are_verbatim_and_numbered(safety_hits):
    art = safety_hits["第二十一条"]
    units = article_units(FullArticle(art, art["text"], art["clauses"]))
    assert all(u.text in art["text"] for u in units)
    items = [u for u in units if u.item_no]
    assert [u.item_no for u in items] == [1, 2, 3, 4, 5]
    assert all(u.clause_no is None for u in units)  # a single 款: cited as 第二十一条第（三）项


def test_answer_quotes_duty_and_explicitly_linked_penalty(safety_hits):
    hits = [safety_hits["第十八条"], safety_hits["第四十六条"], safety_hits["第三十条"]]
    a = AnswerComposer(canned(hits)).answer("单位没有对从业人员进行安全生产教育和培训怎么办")
    assert a.grounded
    cites = [s.citation for s in a.statements]
    assert cites[0] == "《徐州市安全生产条例》第十八条"
    penalty = [s for s in a.statements if s.role == "penalty"]
    assert [s.citation for s in penalty] == ["《徐州市安全生产条例》第四十六条"]
    assert "第十八条" in penalty[0].quote
    for s in a.statements:
        art = next(h for h in hits if h["article_no"] == s.article_no)
        assert s.quote in art["text"]
        assert f"“{s.quote}”（{s.citation}）" in a.answer_text


def test_irrelevant_hits_give_nothing_found(safety_hits):
    hits = [safety_hits["第二十条"], safety_hits["第三十一条"]]
    a = AnswerComposer(canned(hits)).answer("离婚后孩子的抚养权归谁？")
    assert not a.grounded and a.statements == [] and a.answer_text.startswith(NOTHING_FOUND)


def test_cited_article_is_quoted_clause_by_clause(safety_hits):
    a = AnswerComposer(canned([safety_hits["第二十条"]])).answer("徐州市安全生产条例第二十条")
    assert [s.citation for s in a.statements] == ["《徐州市安全生产条例》第二十条第一款",
                                                  "《徐州市安全生产条例》第二十条第二款"]
    assert [s.clause_no for s in a.statements] == [1, 2]


def test_fake_generator_output_is_verified_sentence_by_sentence(safety_hits):
    hits = [safety_hits["第十八条"], safety_hits["第四十六条"]]
    duty = safety_hits["第十八条"]["text"]
    quote = duty[duty.index("未经安全生产教育和培训合格的"):].rstrip("。")
    reply = (f"生产经营单位必须先培训再安排上岗，“{quote}”（《徐州市安全生产条例》第十八条）。"
             "不培训的，可以处一万元以上十万元以下罚款（《徐州市安全生产条例》第四十六条）。"
             "情节严重的还可能被判刑（《徐州市安全生产条例》第九十九条）。"
             "建议立即向劳动监察大队投诉。"
             "根据规定，“单位必须给每名员工发放一千元培训补贴”（《徐州市安全生产条例》第十八条）。"
             "另见《中华人民共和国劳动法》第六十八条。")
    fake = FakeChatGenerator(reply)
    a = AnswerComposer(canned(hits), generator=fake).answer("单位没有对从业人员进行安全生产教育和培训怎么办")
    assert fake.prompts and "第十八条" in fake.prompts[0] and "第四十六条" in fake.prompts[0]
    assert a.mode == "generated+verified" and a.grounded
    kept = a.answer_text.split("\n")
    assert len(kept) == 2
    assert kept[0].startswith("生产经营单位必须先培训再安排上岗") and "第四十六条" in kept[1]
    assert len(a.dropped) == 4
    assert any("第九十九条" in d for d in a.dropped)  # an article that was not quoted
    assert any("劳动监察大队" in d for d in a.dropped)  # no citation at all
    assert any("一千元培训补贴" in d for d in a.dropped)  # a fabricated quote under a real citation
    assert any("劳动法" in d for d in a.dropped)  # a law that was never retrieved
    # the statements stay the extractive, verbatim ones
    assert all(s.quote in next(h["text"] for h in hits if h["article_no"] == s.article_no) for s in a.statements)


def test_unverifiable_or_failing_generator_keeps_the_extractive_answer(safety_hits):
    hits = [safety_hits["第十八条"]]
    q = "单位没有对从业人员进行安全生产教育和培训怎么办"
    extractive = AnswerComposer(canned(hits)).answer(q)
    bad = AnswerComposer(canned(hits), generator=FakeChatGenerator("你应该去找律师。这种事很常见。")).answer(q)
    assert bad.mode == "extractive" and bad.answer_text == extractive.answer_text and len(bad.dropped) == 2
    down = AnswerComposer(canned(hits), generator=FakeChatGenerator(fail=True)).answer(q)
    assert down.mode == "extractive" and down.answer_text == extractive.answer_text


def test_verify_rejects_a_clause_the_article_does_not_have(safety_hits):
    a = AnswerComposer(canned([safety_hits["第二十条"]])).answer("徐州市安全生产条例第二十条")
    kept, dropped = verify_generated(
        "应当如实记录（《徐州市安全生产条例》第二十条第二款）。另有规定（《徐州市安全生产条例》第二十条第五款）。",
        a.statements, a.articles)
    assert len(kept) == 1 and "第二款" in kept[0]
    assert len(dropped) == 1 and "第五款" in dropped[0]


@pytest.fixture(scope="module")
def dog_hits(corpus_dir):
    from ingest.pipeline import parse_files

    regs, _ = parse_files([corpus_dir / "xuzhou" / "徐州市养犬管理条例_2023修正.md"])
    reg = regs[0]
    return {a.label: {"regulation_id": reg.regulation_id, "version_id": reg.version_id, "title": reg.title,
                      "article_no": a.article_no, "article_suffix": a.article_suffix, "label": a.label,
                      "headings": a.headings, "text": a.text, "clauses": [{"text": c.text, "items": c.items}
                                                                          for c in a.clauses],
                      "is_penalty": False, "citation": a.citation} for a in reg.articles}


def test_everyday_words_find_the_statutory_item_and_its_own_penalty(dog_hits):
    """养狗/拴绳 are not statute words (养犬/束犬链): synonyms judge relevance, the extra search uses them, and of
    the penalty articles naming 第十八条 the one naming the quoted 第二项 is chosen."""
    calls = []

    def search(query, *, top_k=10, filters=None):
        calls.append(query)
        hits = [dog_hits[k] for k in ("第三十一条", "第十八条", "第三十条", "第二十八条")]
        return {"mode": "test", "hits": hits}

    a = AnswerComposer(search).answer("养狗不拴绳会被罚款吗")
    assert len(calls) == 2 and "养犬" in calls[1] and "犬链" in calls[1]
    applies = [s for s in a.statements if s.role == "applies"]
    # the 项 comes under its 款's lead-in (养犬应当遵守下列规定：), never a lead-in alone
    assert applies[0].citation == "《徐州市养犬管理条例》第十八条第一款" and applies[0].quote.endswith("：")
    assert applies[1].citation == "《徐州市养犬管理条例》第十八条第一款第（二）项" and "束犬链" in applies[1].quote
    pen = [s for s in a.statements if s.role == "penalty"]
    assert [s.citation for s in pen] == ["《徐州市养犬管理条例》第三十条第一款"]
    assert "第二项" in pen[0].quote and "罚款" in pen[0].quote


def test_who_words_alone_do_not_make_an_article_relevant(safety_hits):
    hits = [safety_hits["第十一条"], safety_hits["第十八条"], safety_hits["第十条"]]
    a = AnswerComposer(canned(hits)).answer("公司不给员工交社保怎么办")
    assert not a.grounded and a.statements == []
    a = AnswerComposer(canned(hits)).answer("保证人在什么情况下需要承担保证责任？")
    assert not a.grounded


def test_a_cited_clause_or_item_is_quoted_alone(dog_hits, safety_hits):
    a = AnswerComposer(canned([dog_hits["第十八条"]])).answer("徐州市养犬管理条例第十八条第一款第二项")
    assert [s.citation for s in a.statements] == ["《徐州市养犬管理条例》第十八条第一款",
                                                  "《徐州市养犬管理条例》第十八条第一款第（二）项"]
    assert "束犬链" in a.statements[1].quote
    a = AnswerComposer(canned([safety_hits["第二十条"]])).answer("徐州市安全生产条例第二十条第二款")
    assert [s.citation for s in a.statements] == ["《徐州市安全生产条例》第二十条第二款"]
    a = AnswerComposer(canned([safety_hits["第二十条"]])).answer("徐州市安全生产条例第二十条第九款")
    assert len(a.statements) == 2  # no 第九款: the whole article


def test_a_lay_word_that_the_glossary_turns_into_the_statutes_word_counts_as_shared_with_the_first_hit():
    """噪音 (everyday) vs 噪声 (statute): the semantic ranking's first hit shares only one character with the question
    but the glossary's word for it whole, so it is quoted rather than refused."""

    class SemanticIndex:  # stands in for the index: only says it holds dense vectors; articles come whole
        def layout(self):
            return type("Layout", (), {"dense": {"dense": 200}})()

        articles = None

    article = {"regulation_id": "r", "version_id": "v", "title": "中华人民共和国民法典", "article_no": 294,
               "article_suffix": "", "label": "第二百九十四条", "headings": ["第七章 相邻关系"], "is_penalty": False,
               "text": "不动产权利人不得违反国家规定弃置固体废物，排放大气污染物、水污染物、土壤污染物、噪声、光辐射、"
                       "电磁辐射等有害物质。", "clauses": [], "citation": "《中华人民共和国民法典》第二百九十四条",
               "score": 1.0, "snippet": "", "level": "法律", "region": "全国", "is_current": True}

    def search(query, *, top_k=10, filters=None):
        return {"query": query, "mode": "hybrid (dense + learned ranker)", "hits": [article]}

    ans = AnswerComposer(search, index=SemanticIndex()).answer("邻居家的噪音太大影响休息怎么办")
    assert ans.grounded and ans.statements[0].citation.startswith("《中华人民共和国民法典》第二百九十四条")
    assert ans.statements[0].quote in article["text"]


def test_the_rankings_later_trusted_hits_are_quoted_by_their_best_clause_only():
    """Four articles a learned ranking put first, none carrying the question's words whole: all four are cited (the
    ranking may be right where the words are not), the first two whole, the other two by one 款 — the answer stays
    short enough to read out."""

    class SemanticIndex:  # only says it holds dense vectors; the hits carry their whole text
        def layout(self):
            return type("Layout", (), {"dense": {"dense": 200}})()

        articles = None

        def version_articles(self, version_id):
            return []

    duties = ["为作业人员配备合格的劳动防护用品", "对作业人员进行安全教育", "设置明显的安全警示标志", "定期检查施工机具"]
    hits = []
    for no, duty in enumerate(duties, start=1):
        clauses = [f"施工单位应当{duty}。", "作业人员应当遵守本单位的规章制度。"]
        hits.append({"regulation_id": "r", "version_id": "v", "title": "某市建筑施工安全条例", "article_no": no,
                     "article_suffix": "", "label": f"第{'一二三四'[no - 1]}条", "headings": ["第二章 安全保障"],
                     "is_penalty": False, "text": "\n".join(clauses),
                     "clauses": [{"text": c, "items": []} for c in clauses],
                     "citation": f"《某市建筑施工安全条例》第{'一二三四'[no - 1]}条", "score": 1.0, "snippet": "",
                     "level": "地方性法规", "region": "某市", "is_current": True})

    def search(query, *, top_k=10, filters=None):
        return {"query": query, "mode": "hybrid (dense + learned ranker)", "hits": hits}

    ans = AnswerComposer(search, index=SemanticIndex()).answer("工地上的安全帽该由谁发")
    quoted = {}
    for s in ans.statements:
        if s.role == "applies":
            label = s.citation.split("》")[1].split("条")[0] + "条"
            quoted[label] = quoted.get(label, 0) + 1
            assert s.quote in "\n".join(h["text"] for h in hits)
    assert quoted == {"第一条": 2, "第二条": 2, "第三条": 1, "第四条": 1}
