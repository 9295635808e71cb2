"""The system's cross-validation (`lawsearch eval system-cv`), on the Xuzhou texts and the Xuzhou questions: every
question scored once by models trained without it, and the encoder ablation's protocol — the encoder's list adds
candidates to the questions scored while the ranker learns exactly as without it."""
from __future__ import annotations

import pickle

import pytest


@pytest.fixture(scope="module")
def encoder_runtime(tmp_path_factory, corpus_dir):
    from corpus.settings import Settings
    from service.runtime import Runtime

    rt = Runtime.open(Settings(data_dir=tmp_path_factory.mktemp("cv-data"), encoder_model="packaged",
                               embedding_model=None, qdrant_url=None))
    rt.ingest([corpus_dir / "xuzhou"], progress=False, train=False)
    assert rt.encoder_in_use()
    yield rt
    rt.close()


@pytest.mark.integration
@pytest.mark.slow
def test_system_cv_scores_each_question_once_and_the_encoder_only_adds_candidates(encoder_runtime, eval_dir,
                                                                                  tmp_path):
    from corpus.training import question_id, relevant_keys
    from evaluation.ranker_cv import load_labelled, system_crossval
    from search.engine import build_filter
    from search.ranker import feature_names

    rt = encoder_runtime
    questions = load_labelled([eval_dir / "xuzhou_dev.jsonl"])
    flt = build_filter({}, rt.engine.titles, home_region=rt.home_region)
    gold = {question_id(q): relevant_keys(q) for q in questions}
    runs = {}
    for encoder in (False, True):
        dump = tmp_path / f"encoder-{encoder}"
        res = system_crossval(rt, questions, flt=flt, k=2, ablations=False, progress=False, dump=dump,
                              encoder_candidates=encoder)
        folds = [pickle.loads((dump / f"fold{f}.pkl").read_bytes()) for f in range(2)]
        runs[encoder] = res, folds
        by_source = res["variants"]["ranker"]
        assert by_source["all"]["queries"] == len(questions) == 45  # each question scored once
        for f, fold in enumerate(folds):  # never by a model that saw it
            tested = {g.question_id for g, _ in fold["test"]}
            assert tested and not tested & {g.question_id for g in fold["train"]}
            # every dumped group names its candidates, row for row, so features can be added afterwards; a
            # training group's labels are its keys' relevance
            for g in fold["train"] + [g for g, _ in fold["test"]]:
                assert g.keys is not None and len(g.keys) == len(g.labels) == g.features.shape[0]
                assert g.labels.tolist() == [int(k in gold[g.question_id]) for k in g.keys]
    (plain, plain_folds), (enc, enc_folds) = runs[False], runs[True]
    width = len(feature_names(False))
    for a, b in zip(plain_folds, enc_folds):
        # the ranker learns from the same candidates and columns with or without the encoder …
        assert [g.question_id for g in a["train"]] == [g.question_id for g in b["train"]]
        assert {g.features.shape[1] for g in a["train"] + b["train"]} == {width}
        # … and the questions scored get the encoder's candidates besides the others, without its columns
        assert {g.features.shape[1] for g, _ in b["test"]} == {width}
        added = [len(set(kb) - set(ka)) for (_, ka), (_, kb) in zip(a["test"], b["test"])]
        assert sum(added) > 0
    assert enc["variants"]["ranker"]["all"]["R@10"] > 0 and plain["variants"]["ranker"]["all"]["R@10"] > 0


@pytest.mark.integration
def test_the_encoder_ablation_needs_the_encoders_vectors(tmp_path, corpus_dir, eval_dir):
    from corpus.errors import ConfigError
    from corpus.settings import Settings
    from evaluation.ranker_cv import system_crossval
    from service.runtime import Runtime

    rt = Runtime.open(Settings(data_dir=tmp_path / "data", encoder_model="none", embedding_model=None,
                               qdrant_url=None))
    try:
        rt.ingest([corpus_dir / "xuzhou" / "徐州市养犬管理条例_2023修正.md"], progress=False, train=False)
        with pytest.raises(ConfigError, match="LAWSEARCH_ENCODER_MODEL"):
            system_crossval(rt, [], flt=None, encoder_candidates=True)
    finally:
        rt.close()
