"""Our scorer must agree with the reference scorer in ../shared/eval on the same run file."""
import json
import random
import subprocess
import sys

import pytest

from evaluation.metrics import load_queries, load_run, qrels_of, score


def _make_run(queries, path, seed=7):
    """A run that finds some relevant articles at various ranks, with versions/parts repeated and title variants."""
    rnd = random.Random(seed)
    with open(path, "w", encoding="utf-8") as f:
        for q in queries:
            hits = [{"title": "中华人民共和国宪法", "article_no": n, "article_suffix": ""} for n in range(1, 120)]
            for r in q["relevant"]:
                if rnd.random() < 0.7:
                    title = rnd.choice([r["title"], "中华人民共和国" + r["title"], f"《{r['title']}》"])
                    pos = rnd.randrange(0, 110)
                    hit = {"title": title, "article_no": r["article"], "article_suffix": r.get("suffix", "")}
                    hits.insert(pos, hit)
                    hits.insert(pos + rnd.randrange(1, 5), dict(hit))  # a second version/part of the same article
            if rnd.random() < 0.05:
                hits = []
            f.write(json.dumps({"id": q["id"], "hits": hits}, ensure_ascii=False) + "\n")


class TestScorerAgreesWithReference:
    def test_same_numbers_as_score_run_py(self, eval_dir, tmp_path):
        qpath = eval_dir / "stard_dev.jsonl"
        queries = load_queries(qpath)
        run = tmp_path / "run.jsonl"
        _make_run(queries, run)
        ours = score(qrels_of(queries), load_run(run))
        ref = json.loads(subprocess.run([sys.executable, str(eval_dir / "score_run.py"), str(qpath), str(run)],
                                        capture_output=True, text=True, check=True).stdout)
        assert ours["queries"] == ref["queries"] == 300
        for key in ("R@1", "R@5", "R@10", "R@20", "R@100", "MRR@10", "nDCG@10", "answered"):
            assert ours[key] == pytest.approx(ref[key], abs=1e-4), key
        assert 0.1 < ours["R@100"] < 0.9  # the synthetic run is neither empty nor perfect
