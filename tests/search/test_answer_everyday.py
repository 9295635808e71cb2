"""Everyday questions of volunteers and inspectors (tests/search/data/everyday_questions.jsonl, written for these
tests) through POST /api/ask on a real index of the main job's Xuzhou files: no request fails, every quote is
verbatim in the article its citation names, no quote is a lead-in (…下列…：) without its 项, and refusals are rare.
The checks are those of `lawsearch eval ask` (evaluation/ask.py), which the dev-set figures come from."""
from __future__ import annotations

from pathlib import Path

import pytest

from evaluation.ask import ask_report, lead_ins_without_items
from evaluation.metrics import load_queries
from tests.indexes import main_job_files

pytestmark = pytest.mark.integration

QUESTIONS = Path(__file__).parent / "data" / "everyday_questions.jsonl"


@pytest.fixture(scope="module")
def client(tmp_path_factory, corpus_dir):
    """The app over the main job's Xuzhou files with the offline embedder trained on them, as `lawsearch ingest`
    builds it (hybrid retrieval: the answers' configuration; a lexical-only index trusts no ranking)."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from corpus.settings import Settings
    from service.runtime import Runtime

    data = tmp_path_factory.mktemp("everyday-index")
    settings = Settings(data_dir=data, rate_limit_per_minute=0, rate_limit_heavy_per_minute=0, llm_base_url=None,
                        training_questions=[])
    runtime = Runtime.open(settings)
    try:
        summary = runtime.ingest(main_job_files(corpus_dir), progress=False, train=True)
        assert not summary.failed and runtime.embedder is not None
        with TestClient(create_app(settings, runtime=runtime)) as c:
            yield c
    finally:
        runtime.close()


def test_everyday_questions_are_answered_verbatim_with_whole_lists(client):
    questions = load_queries(QUESTIONS)
    assert len(questions) >= 20
    report = ask_report(client, questions)
    s, rows = report["summary"], report["rows"]
    assert s["errors"] == 0, [r for r in rows if "error" in r]
    assert s["not_verbatim"] == 0, [(r["query"], r["not_verbatim"]) for r in rows if r.get("not_verbatim")]
    assert s["lead_ins_without_items"] == 0, [(r["query"], r["lead_ins"]) for r in rows if r.get("lead_ins")]
    # answers, not refusals: everyday wording is not a reason to turn a question away
    assert s["refusals"] <= len(questions) // 10, [r["query"] for r in rows if not r.get("grounded")]


def ask(client, question: str) -> dict:
    r = client.post("/api/ask", json={"question": question})
    assert r.status_code == 200, r.text
    return r.json()


def test_a_can_i_question_opens_with_the_conclusion_of_the_quoted_prohibition(client):
    a = ask(client, "新来的工人没培训就让上岗干活，合法吗？")
    c = a["conclusion"]
    assert c is not None and c["label"] == "不可以" and c["modal"] in c["statement"]["quote"]
    assert a["answer_text"].startswith("结论：不可以。")
    # the conclusion quotes a provision the answer quotes in full below it
    assert any(c["statement"]["quote"] in s["quote"] and s["citation"] == c["statement"]["citation"]
               for s in a["statements"])
    # what a breach costs, who enforces it, where to turn: each a quote of its own
    roles = {s["role"] for s in a["statements"]}
    assert {"applies", "penalty", "enforcer"} <= roles
    assert any("罚款" in s["quote"] for s in a["statements"] if s["role"] == "penalty")
    assert not lead_ins_without_items(a["statements"])


def test_a_duty_question_names_the_duty_and_not_a_permission(client):
    a = ask(client, "接触粉尘的工人要不要做职业健康检查")
    assert a["conclusion"] is not None and a["conclusion"]["label"] == "必须"
    assert "职业病防治法" in a["conclusion"]["statement"]["citation"]


def test_where_to_turn_is_quoted_from_the_texts_own_complaint_provisions(client):
    a = ask(client, "邻居遛狗从来不牵绳，这样可以吗？")
    recourse = [s for s in a["statements"] if s["role"] == "recourse"]
    assert recourse and any(w in recourse[0]["quote"] for w in ("举报", "投诉"))
    assert "可以向哪里反映或申请：" in a["answer_text"]
    # asked directly, the complaint provision is the answer itself, not repeated below it
    a = ask(client, "养狗的邻居从不清理狗粪，我能去哪里投诉？")
    assert any("投诉" in s["quote"] for s in a["statements"] if s["role"] == "applies")
    assert not [s for s in a["statements"] if s["role"] == "recourse"]


def test_a_question_no_text_touches_is_still_refused(client):
    a = ask(client, "红烧肉怎么做才好吃？")
    assert a["grounded"] is False and a["statements"] == []
