"""The encoder issue's GPU run in three steps: pack the data here, train and rank on the accelerator, score here.

The accelerator machine has PyTorch but not this project's dependencies (no parser, no Qdrant, no jieba) and not
`../shared`, so the run is split:

1. ``pack`` (here): parse the library once and write one compressed file: every distinct article text of the
   library (all versions of ../shared/corpus/lawref and the Xuzhou texts; what masked-character pre-training reads),
   the first sentence of each (corpus pairs), the cross-validation harness of `evaluation.encoder_cv` (the latest
   national articles, in its order) and the labelled questions with their gold articles as row numbers and their
   fold (`evaluation.crossval.fold_of`).
2. ``train`` (on the accelerator; needs only numpy, scipy and torch): for each network size, pre-train once
   (masked characters, then corpus pairs), then per fold fine-tune on the other folds' questions and rank all harness
   articles for the fold's questions — dense alone, BM25 alone and ``0.3·bm25/max + 0.7·cos`` exactly as the CPU
   harness does — and finally fine-tune on every question and save the network (``final.pt``: vocabulary,
   settings, weights). It writes ranked article rows, not scores: scoring stays with the reference code here.
3. ``report`` (here): score the ranked rows with `evaluation.crossval.score_one` and turn a saved network into a
   model folder (int8 ONNX, card with the reference embeddings) with `corpus.encoder_training`.
"""
from __future__ import annotations

import json
import logging
import lzma
import time
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)
PACK_NAME = "encoder-pack.json.xz"
TRAIN_CHARS = 256  # non-harness texts are stored this long (training reads at most `max_len` ≤ 192 characters)


# ---- 1. pack (here) ---------------------------------------------------------------------------------------------
def pack(corpus_dir: Path, city_dirs: list[Path], question_files: dict[str, list[Path]], out: Path,
         cache: Path | None = None) -> dict[str, Any]:
    from corpus.encoders import document_text
    from corpus.training import first_sentence, question_records
    from evaluation.crossval import fold_of, read_questions
    from evaluation.encoder_cv import library_articles
    from ingest.pipeline import parse_files

    harness = library_articles(corpus_dir, cache=cache)
    dirs = [p for p in sorted(Path(corpus_dir).iterdir()) if p.is_dir()] + list(city_dirs)
    regs, _ = parse_files(dirs)
    latest: dict[str, str] = {}
    for r in regs:
        latest[r.regulation_id] = max(latest.get(r.regulation_id, ""), r.version_date or "")
    row: dict[str, int] = {}
    docs: list[str] = []
    first: list[str] = []

    def add(a) -> int:
        d = document_text(a)
        if d not in row:
            row[d] = len(docs)
            docs.append(d)
            fs = first_sentence(a.text)
            first.append(fs if 6 <= len(fs) < len(a.text) - 10 else "")
        return row[d]

    harness_rows = [add(a) for a in harness]
    full = set(harness_rows)
    latest_row: dict[tuple, int] = {}
    for r in regs:
        for a in r.articles:
            if a.kind != "article":
                continue
            i = add(a)
            if (r.version_date or "") == latest[r.regulation_id]:
                latest_row.setdefault(a.key, i)
    harness_index = {a.key: j for j, a in enumerate(harness)}
    questions = []
    for name, paths in question_files.items():
        for q in question_records([x for p in paths for x in read_questions(Path(p))]):
            questions.append({
                "set": name, "id": str(q["id"]), "query": q["query"], "fold": fold_of(str(q["id"]), 5),
                "relevant": [list(k) for k in q["relevant"]],
                "harness": [harness_index[k] for k in q["relevant"] if k in harness_index],
                "rows": [latest_row[k] for k in q["relevant"] if k in latest_row]})
    data = {"docs": [d if i in full else d[:TRAIN_CHARS] for i, d in enumerate(docs)], "first": first,
            "harness": harness_rows, "harness_keys": [list(a.key) for a in harness], "questions": questions}
    out.parent.mkdir(parents=True, exist_ok=True)
    with lzma.open(out, "wt", encoding="utf-8", preset=6) as fh:
        json.dump(data, fh, ensure_ascii=False)
    summary = {"texts": len(docs), "harness": len(harness_rows), "questions": len(questions),
               "MB": round(out.stat().st_size / 2**20, 1)}
    print(json.dumps(summary, ensure_ascii=False), flush=True)
    return summary



# ---- 2. train (on the accelerator) ------------------------------------------------------------------------------
#: Network sizes trained side by side: two that can embed the library on 2 CPU cores in minutes, and the issue's
#: reference size (too slow on CPU: its row says what size buys).
CONFIGS: dict[str, dict[str, Any]] = {
    "2L256": {"layers": 2, "dim": 256, "heads": 4, "max_len": 128, "mlm_batch": 512, "mlm_lr": 1e-3},
    "4L256": {"layers": 4, "dim": 256, "heads": 4, "max_len": 128, "mlm_batch": 512, "mlm_lr": 1e-3},
    "6L384": {"layers": 6, "dim": 384, "heads": 6, "max_len": 192, "mlm_batch": 256, "mlm_lr": 5e-4},
    "tiny": {"layers": 1, "dim": 32, "heads": 2, "max_len": 32, "mlm_batch": 32, "mlm_lr": 1e-3},
}
#: Shared by every size: the issue's recipe (96 question pairs + 160 corpus pairs a batch, temperature 0.05).
COMMON = {"query_len": 64, "pair_batch": 256, "question_share": 96 / 256, "contrastive_lr": 2e-4,
          "temperature": 0.05, "min_count": 5, "max_vocab": 8000, "seed": 0}
#: Seconds from a size's start: pre-training ends at `mlm`, then corpus pairs for `pairs` seconds; each fold
#: fine-tunes for as many steps as `fold` seconds allow at the corpus pairs' pace (at most `max_steps`), checked at
#: 1/8, 1/4, 1/2, 3/4 and all of them; no fold starts after `stop`; then the final network, for the chosen steps.
PLAN = {"mlm": 290.0, "pairs": 15.0, "fold": 25.0, "stop": 420.0, "max_steps": 2400}
FOLDS = 5
TOP = 100


def load_pack(path: Path) -> dict[str, Any]:
    with lzma.open(path, "rt", encoding="utf-8") as fh:
        return json.load(fh)


def stard(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [q for q in data["questions"] if q["set"] == "stard"]


def bm25_matrix(data: dict[str, Any]) -> np.ndarray:
    """BM25 (character bigrams, `corpus.training.BM25Matrix`) of every harness article for every STARD question:
    the lexical side of the fusion, as in `evaluation.encoder_cv.Harness`."""
    from corpus.embedders import static_tokens
    from corpus.training import BM25Matrix

    bm25 = BM25Matrix([static_tokens(data["docs"][i]) for i in data["harness"]])
    return np.stack([bm25.scores(static_tokens(q["query"])) for q in stard(data)]).astype(np.float32)


def _top_rows(torch, scores, k: int) -> list[list[int]]:
    return torch.topk(scores, min(k, scores.shape[1]), dim=1).indices.cpu().tolist()


def train_one(pack_path: Path, name: str, out: Path, *, bm25_path: Path, plan: dict[str, float] | None = None,
              folds: int = FOLDS, save_networks: bool = True) -> dict[str, Any]:
    """One network size: pre-train; per fold, fine-tune on the other folds' STARD questions and rank the harness
    for the fold's questions at five step counts; choose the count over the folds; fine-tune the final network on
    every question for that many steps. `save_networks`: the pre-trained network, the final one and each fold's
    (at the chosen count) are saved (``NAME-base.pt``, ``NAME-final.pt``, ``NAME-fold{f}.pt``: with the results,
    eight files for five folds, the device's limit). Results are rewritten after every stage, so a run stopped
    early still reports what it finished (on the second GPU run a fold took ≈ 45 s at 4L-256, rankings included)."""
    import copy
    from dataclasses import asdict

    import torch

    from corpus.encoder_training import (
        EncoderSettings,
        TokenRows,
        build_vocab,
        embed_rows,
        fine_tune,
        network_classes,
        pretrain_mlm,
    )

    plan = {**PLAN, **(plan or {})}
    start = time.monotonic()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    data = load_pack(pack_path)
    docs = data["docs"]
    s = EncoderSettings(**{**COMMON, **CONFIGS[name]})
    vocab = build_vocab(docs, min_count=s.min_count, max_size=s.max_vocab)
    _, CharEncoder = network_classes()
    model = CharEncoder(len(vocab), s).to(device)
    rows = TokenRows(torch, [vocab.ids(d, s.max_len) for d in docs], s.max_len, device)
    res: dict[str, Any] = {"name": name, "device": device, "settings": {}, "figures": {
        "texts": len(docs), "vocabulary": len(vocab),
        "parameters": int(sum(p.numel() for p in model.parameters()) - model.head_bias.numel())}, "folds": {}}
    target = out / f"{name}.json.xz"

    def save() -> None:
        res["settings"] = asdict(s)
        res["seconds"] = round(time.monotonic() - start, 1)
        with lzma.open(target.with_suffix(".tmp"), "wt", encoding="utf-8") as fh:
            json.dump(res, fh, ensure_ascii=False)
        target.with_suffix(".tmp").replace(target)

    log.info("%s: %d texts, vocabulary %d, %s parameters, %s", name, len(docs), len(vocab),
             res["figures"]["parameters"], device)
    s.mlm_seconds = max(1.0, plan["mlm"] - (time.monotonic() - start))
    res["figures"].update(pretrain_mlm(model, torch, [], len(vocab), s, device, True,
                                       deadline=start + plan["mlm"] + 5, docs=rows))
    save()
    c_pairs = [(vocab.ids(f, s.query_len), i) for i, f in enumerate(data["first"]) if f]
    s.contrastive_seconds = plan["pairs"]
    pairs_fig = fine_tune(model, torch, [], c_pairs, None, s, device, True, docs=rows)
    res["figures"]["corpus_pairs"] = pairs_fig
    s.contrastive_steps = 0
    base = copy.deepcopy(model.state_dict())
    save()

    def q_pairs(questions: list[dict], key: str) -> list[tuple[list[int], int]]:
        to_row = (lambda j: data["harness"][j]) if key == "harness" else (lambda r: r)
        return [(vocab.ids(q["query"], s.query_len), to_row(j)) for q in questions for j in q[key]]

    def save_network(path: Path, state: dict | None = None) -> None:
        state = state if state is not None else model.state_dict()
        torch.save({"vocab": vocab.chars, "settings": asdict(s), "figures": res["figures"],
                    "model": {k: v.detach().to("cpu", torch.float16) for k, v in state.items()}}, path)

    # Fine-tuning at a constant rate after its warm-up, so that the network after n steps is the one an n-step run
    # makes: each fold's harness is ranked at the checkpoints, one step count is chosen over all folds (mean of
    # fused R@10 and MRR@10), and the final network is fine-tuned on every question for that many steps.
    if save_networks:  # pre-trained, before any question: a later run can fine-tune folds from it
        save_network(out / f"{name}-base.pt", base)
    rate = pairs_fig["contrastive_steps"] / max(pairs_fig["contrastive_seconds"], 1e-6)
    longest = max(8, min(int(plan.get("max_steps", 2400)), int(rate * plan["fold"])) // 8 * 8)
    checks = sorted({max(1, longest * k // 8) for k in (1, 2, 4, 6, 8)})
    res["checkpoints"] = checks
    questions = stard(data)
    harness = TokenRows(torch, [vocab.ids(docs[i], s.max_len) for i in data["harness"]], s.max_len, device)
    bm25 = None
    selection: dict[int, list[float]] = {n: [] for n in checks}
    fold_states: dict[int, dict[int, dict]] = {}
    for f in range(folds):
        if time.monotonic() - start > plan["stop"]:
            res["stopped"] = f"stopped before fold {f}: past {plan['stop']:.0f} s"
            break
        model.load_state_dict(base)
        s.contrastive_steps = longest
        train = [q for q in questions if q["fold"] != f]
        test = [i for i, q in enumerate(questions) if q["fold"] == f]
        if bm25 is None:
            while not bm25_path.is_file():
                time.sleep(2)
            bm25 = np.load(bm25_path, mmap_mode="r")
        b = torch.from_numpy(np.ascontiguousarray(bm25[test])).to(device)
        m = b.max(dim=1, keepdim=True).values
        lexical = torch.where(m > 0, 0.3 * b / m.clamp(min=1e-9), torch.zeros_like(b))
        tq = TokenRows(torch, [vocab.ids(questions[i]["query"], s.query_len) for i in test], s.query_len, device)
        gold = [(set(questions[i]["harness"]), max(1, len(questions[i]["relevant"]))) for i in test]
        ranked: dict[str, list[list[int]]] = {"bm25": _top_rows(torch, b, TOP)}
        t = time.monotonic()

        def checkpoint(n: int) -> None:
            if n not in selection:
                return
            cos = embed_rows(model, torch, tq, device) @ embed_rows(model, torch, harness, device).T
            ranked[f"encoder alone @{n}"] = _top_rows(torch, cos, TOP)
            ranked[f"encoder + bm25 @{n}"] = top = _top_rows(torch, lexical + 0.7 * cos, TOP)
            selection[n] += [len(g & set(r[:10])) / k + next((1 / (i + 1) for i, x in enumerate(r[:10]) if x in g), 0)
                             for r, (g, k) in zip(top, gold)]
            fold_states.setdefault(f, {})[n] = {k: v.detach().clone() for k, v in model.state_dict().items()}

        fig = fine_tune(model, torch, q_pairs(train, "harness"), c_pairs, None, s, device, False, docs=rows,
                        floor=1.0, after_step=checkpoint)
        res["folds"][str(f)] = {"test": test, "fine_tune": fig, "seconds": round(time.monotonic() - t, 1),
                                "ranked": ranked}
        log.info("%s: fold %d done in %.0f s", name, f, time.monotonic() - t)
        save()
    if selection[checks[0]]:
        best = max(checks, key=lambda n: (np.mean(selection[n]), -n))
        res["chosen_steps"] = best
        res["selection"] = {str(n): round(float(np.mean(v)) / 2, 4) for n, v in selection.items() if v}
        log.info("%s: fine-tuning steps chosen over the folds: %d (%s)", name, best, res["selection"])
    else:
        best = checks[-1]
    if save_networks:  # networks that never saw a fold's questions: the system-level ablation uses them
        for f, states in fold_states.items():
            save_network(out / f"{name}-fold{f}.pt", states[best])
    fold_states.clear()
    model.load_state_dict(base)
    s.contrastive_steps = best
    res["figures"]["final"] = fine_tune(model, torch, q_pairs(data["questions"], "rows"), c_pairs, None, s, device,
                                        True, docs=rows, floor=1.0)
    if save_networks:
        save_network(out / f"{name}-final.pt")
    save()
    return res


def train_all(pack_path: Path, names: list[str], out: Path, *, plan: dict[str, float] | None = None,
              folds: int = FOLDS) -> None:
    """Every size in its own process (one GPU shares them), BM25 computed meanwhile; each writes its results and
    log under `out`."""
    import os
    import subprocess
    import sys

    out.mkdir(parents=True, exist_ok=True)
    bm25_path = Path("/tmp") / f"encoder-bm25-{os.getpid()}.npy"
    procs = []
    for name in names:
        cmd = [sys.executable, "-m", "evaluation.encoder_device", "train-one", "--name", name, "--pack",
               str(pack_path), "--out", str(out), "--bm25", str(bm25_path), "--folds", str(folds),
               "--plan", json.dumps(plan or {})]
        with open(out / f"{name}.log", "w") as logf:  # the child keeps its own copy of the file
            procs.append((name, subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT,
                                                 env={**os.environ, "PYTHONUNBUFFERED": "1"})))
    t = time.monotonic()
    data = load_pack(pack_path)
    m = bm25_matrix(data)
    np.save(bm25_path.with_suffix(".tmp.npy"), m)
    bm25_path.with_suffix(".tmp.npy").replace(bm25_path)
    print(f"bm25 {m.shape} in {time.monotonic() - t:.0f} s", flush=True)
    failed = []
    for name, p in procs:
        code = p.wait()
        print(name, "exit", code, flush=True)
        if code:
            failed.append(name)
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")



# ---- 3. report (here) -------------------------------------------------------------------------------------------
def score(pack_path: Path, results: list[Path]) -> dict[str, Any]:
    """CV figures of each size from its ranked harness rows, scored by `evaluation.crossval.score_one`."""
    from evaluation.crossval import average, score_one

    data = load_pack(pack_path)
    keys = [tuple(k) for k in data["harness_keys"]]
    questions = stard(data)
    out: dict[str, Any] = {}
    for path in results:
        with lzma.open(path, "rt", encoding="utf-8") as fh:
            r = json.load(fh)
        rows: dict[str, list[dict[str, float]]] = {}
        for fold in r["folds"].values():
            for variant, ranked in fold["ranked"].items():
                for qi, top in zip(fold["test"], ranked):
                    rel = {tuple(k) for k in questions[qi]["relevant"]}
                    rows.setdefault(variant, []).append(score_one([keys[i] for i in top], rel))
        f = r["figures"]
        out[r["name"]] = {
            "settings": {k: r["settings"][k] for k in ("layers", "dim", "heads", "max_len", "query_len")},
            "parameters": f["parameters"], "mlm_steps": f["mlm_steps"], "mlm_epochs": f["mlm_epochs"],
            "mlm_final_loss": f["mlm_final_loss"], "corpus_pair_steps": f["corpus_pairs"]["contrastive_steps"],
            "fine_tune_steps": f.get("final", {}).get("contrastive_steps"), "chosen_steps": r.get("chosen_steps"),
            "selection": r.get("selection"), "folds": len(r["folds"]), "seconds": r["seconds"],
            "variants": {v: {"queries": len(x), **average(x)} for v, x in rows.items()}}
    return out


def export_model(final_pt: Path, out_dir: Path, *, cv: dict[str, Any] | None = None, command: str = "",
                 data: dict | None = None) -> Path:
    """A saved network (``NAME-final.pt``) → a model folder `corpus.charencoder` serves: int8 ONNX (the fp32 one
    kept beside it for the latency table), vocabulary, card with the CV figures and the reference embeddings."""
    import shutil
    from dataclasses import asdict

    import torch

    from corpus.charencoder import CharVocab
    from corpus.encoder_training import (
        VERSION,
        EncoderSettings,
        export_onnx,
        network_classes,
        quantize_int8,
        record_reference,
    )

    ckpt = torch.load(final_pt, map_location="cpu", weights_only=False)
    known = set(EncoderSettings.__dataclass_fields__)
    s = EncoderSettings(**{k: v for k, v in ckpt["settings"].items() if k in known})
    vocab = CharVocab(ckpt["vocab"])
    _, CharEncoder = network_classes()
    model = CharEncoder(len(vocab), s)
    model.load_state_dict({k: v.float() for k, v in ckpt["model"].items()})
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    vocab.save(tmp / "vocab.json")
    export_onnx(model, torch, tmp / "model-fp32.onnx", s)
    quantize_int8(tmp / "model-fp32.onnx", tmp / "model-int8.onnx")
    card = {"version": VERSION, "kind": "character transformer encoder (masked characters + contrastive), "
                                        "trained on one GPU",
            "command": command, "data": data or {}, "settings": asdict(s), "figures": ckpt["figures"],
            "onnx": "model-int8.onnx", "default": False, "cv": cv or {}}
    (tmp / "card.json").write_text(json.dumps(card, ensure_ascii=False, indent=1), encoding="utf-8")
    record_reference(tmp)
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.replace(out_dir)
    return out_dir


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="the encoder's GPU run: pack here, train there, report here")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack")
    p.add_argument("--corpus", default="../shared/corpus/lawref")
    p.add_argument("--city", nargs="*", default=["../shared/corpus/xuzhou"])
    p.add_argument("--out", default=".devdata/" + PACK_NAME)
    p.add_argument("--cache", default=None)
    p = sub.add_parser("train")
    p.add_argument("--pack", default=".devdata/" + PACK_NAME)
    p.add_argument("--names", nargs="+", default=["2L256", "4L256", "6L384"])
    p.add_argument("--out", required=True)
    p.add_argument("--folds", type=int, default=FOLDS)
    p.add_argument("--plan", default="{}", help="JSON overrides of PLAN (seconds)")
    p = sub.add_parser("train-one")
    p.add_argument("--name", required=True)
    p.add_argument("--pack", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--bm25", required=True)
    p.add_argument("--folds", type=int, default=FOLDS)
    p.add_argument("--plan", default="{}")
    p = sub.add_parser("report")
    p.add_argument("--pack", default=".devdata/" + PACK_NAME)
    p.add_argument("--results", nargs="+", required=True, help="NAME.json.xz files from train")
    p.add_argument("--export", nargs="*", default=[], help="NAME-final.pt files to turn into model folders")
    p.add_argument("--models-out", default=".devdata/models")
    p.add_argument("--out", default="encoder-gpu.json")
    a = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if a.cmd == "report":
        table = score(Path(a.pack), [Path(x) for x in a.results])
        Path(a.out).write_text(json.dumps(table, ensure_ascii=False, indent=1), encoding="utf-8")
        for name, row in table.items():
            for variant, m in row["variants"].items():
                print(f"{name:6} {variant:16} R@10 {m['R@10']:.3f}  R@100 {m['R@100']:.3f}  MRR@10 {m['MRR@10']:.3f}")
        for pt in a.export:
            name = Path(pt).name.removesuffix("-final.pt")
            folder = export_model(Path(pt), Path(a.models_out) / name, cv=table.get(name),
                                  command="python -m evaluation.encoder_device train (one H200, 2026-11-30)",
                                  data={"pre-training": "144,611 distinct article texts: ../shared/corpus/lawref "
                                                        "(every version) + ../shared/corpus/xuzhou",
                                        "questions": "stard_dev + stard_train (936) + xuzhou_dev (45)"})
            print("exported", folder)
    elif a.cmd == "train":
        train_all(Path(a.pack), a.names, Path(a.out), plan=json.loads(a.plan), folds=a.folds)
    elif a.cmd == "train-one":
        train_one(Path(a.pack), a.name, Path(a.out), bm25_path=Path(a.bm25), plan=json.loads(a.plan),
                  folds=a.folds, save_networks=CONFIGS[a.name]["dim"] <= 256)
    if a.cmd == "pack":
        ev = Path("../shared/eval")
        pack(Path(a.corpus), [Path(c) for c in a.city],
             {"stard": [ev / "stard_dev.jsonl", ev / "stard_train.jsonl"], "xuzhou": [ev / "xuzhou_dev.jsonl"]},
             Path(a.out), Path(a.cache) if a.cache else None)
