"""The application's wiring: the index, encoders, embedder, ingest and search together, for the API, the CLI and
the benchmarks alike.

`Runtime.open(settings)` is the one place that turns the settings into components; below it only plain values and
the ingest limits object travel.
"""
from __future__ import annotations

import copy
import logging
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from corpus.charencoder import ENCODER_VECTOR, load_encoder
from corpus.embedders import load_embedder
from corpus.feedback import FeedbackStore
from corpus.encoders import default_sparse_encoders, document_text
from corpus.index import ArticleIndex
from corpus.store import open_store
from ingest.converters import ConvertLimits
from ingest.parser_version import parsed_by_current
from service.turns import Turns
from service.wording import retrieval_words

log = logging.getLogger(__name__)
SPARSE_META = "sparse_encoders"
_UNREAD = object()  # the saved ranker (or learned wording) has not been read yet
EMBEDDER_META = "embedder"
#: A bulk load of this many points builds the dense HNSW graph afterwards (settings.optimize_after_ingest).
OPTIMIZE_MIN_POINTS = 5000
ENCODER_META = "encoder"  # the fingerprint of the model whose vectors the index holds under ENCODER_VECTOR


APART_WAIT_S = 900.0  # how long a search waits for the index a child process step has closed
YIELD_PAUSE_S = 0.002  # an ingest that yields to readers sleeps this long between its steps
# An ingest that yields to readers leaves the store's flush (≈ 0.2–0.35 s holding the GIL on the main job's index,
# searches waiting) until this many points were written since the last one, or until the index is closed: the
# write-ahead log keeps every update durable meanwhile and is replayed at the next load (corpus/store/edge.py).
DEFERRED_FLUSH_POINTS = 20_000
_switch = {"lock": threading.Lock(), "users": 0, "saved": None}  # the shared state of `yielding`


@contextmanager
def yielding(interval_s: float = 0.0005):
    """While inside, the interpreter switches threads every `interval_s` (default 5 ms): a search thread waiting
    for the GIL behind a busy ingest thread gets it sooner, at every one of the many points where a search gives
    the GIL up and takes it back (engine calls). Nested and concurrent uses restore the old value once."""
    with _switch["lock"]:
        if _switch["users"] == 0:
            _switch["saved"] = sys.getswitchinterval()
            sys.setswitchinterval(interval_s)
        _switch["users"] += 1
    try:
        yield
    finally:
        with _switch["lock"]:
            _switch["users"] -= 1
            if _switch["users"] == 0:
                sys.setswitchinterval(_switch["saved"])


class Runtime:
    def __init__(self, *, data_dir: Path, index: ArticleIndex, embedding_model: str | None,
                 training_questions: list[Path], limits: ConvertLimits, optimize_after_ingest: bool = False,
                 home_region: str | None = None, violation_rerank: bool = True, feedback_retention_days: int = 180,
                 encoder_model: str | None = None, encoder_threads: int = 2, read_only: bool = False):
        self.data_dir = Path(data_dir)
        self.read_only = read_only  # a worker's private copy of the index (service/replicas.py): no writes
        self.home_region = (home_region or "").strip() or None
        self.index = index
        self.embedding_model = embedding_model
        self.training_questions = list(training_questions)
        self.limits = limits  # per ingested file, OCR switch included
        self.optimize_after_ingest = optimize_after_ingest
        self.violation_rerank = violation_rerank
        self.feedback = FeedbackStore(self.data_dir, retention_days=feedback_retention_days)
        self.write_lock = threading.Lock()
        self.search_turns = Turns()  # this process's searches, one at a time in arrival order (service.turns)
        # Cleared while a step in a child process has the index closed here (`_apart`): searches wait for it.
        self.index_open = threading.Event()
        self.index_open.set()
        self.sparse_encoders = default_sparse_encoders()
        for enc in self.sparse_encoders:
            enc.load_state((index.articles.get_meta(SPARSE_META) or {}).get(enc.name))
        self.embedder = load_embedder(data_dir=self.data_dir, model=embedding_model)
        self.encoder = load_encoder(encoder_model, threads=encoder_threads)
        self._engine = None
        self._label = ""
        self._unflushed_points = 0  # written by ingests that deferred their flush (DEFERRED_FLUSH_POINTS)
        self._engine_lock = threading.Lock()
        self._ranker: Any = _UNREAD
        self._wording: Any = _UNREAD  # the learned lay wording, read with the same rule as the ranker
        self.settings = None  # set by open(): lets the first ingest train in child processes
        if index.backend_name == "qdrant-edge" and index.exists():
            # The embedded index is this process's alone (Edge locks it), so whatever an interrupted write left
            # behind is repaired before anyone reads. A server may have another writer mid-way: not there.
            index.recover()

    @classmethod
    def open(cls, settings, *, replica: Path | None = None) -> "Runtime":
        """`replica`: a folder holding a private copy of the embedded index (`service.replicas`), opened read-only
        in place of the data directory's; models, ranker and feedback still come from the data directory."""
        url = settings.qdrant_url
        key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
        where = settings.data_dir if replica is None or url else Path(replica)
        articles = open_store(data_dir=where, url=url, api_key=key, collection=settings.collection)
        versions = open_store(data_dir=where, url=url, api_key=key, collection=f"{settings.collection}_versions")
        rt = cls(data_dir=settings.data_dir, index=ArticleIndex(articles, versions),
                 embedding_model=settings.embedding_model, training_questions=settings.training_questions,
                 limits=ConvertLimits.from_settings(settings), optimize_after_ingest=settings.optimize_after_ingest,
                 home_region=settings.home_region, violation_rerank=settings.violation_rerank,
                 feedback_retention_days=settings.feedback_retention_days,
                 encoder_model=settings.encoder_model, encoder_threads=settings.encoder_threads,
                 read_only=replica is not None and not url)
        rt.settings = settings  # what a training child process opens the same index with
        return rt

    def labelled_questions(self) -> list[dict]:
        """What training learns from: the labelled question files and the feedback an admin accepted."""
        from corpus.training import question_records, read_questions

        return read_questions(self.training_questions) + question_records(self.feedback.accepted_questions())

    def close(self) -> None:
        self.index.close()

    def check_writable(self) -> None:
        """Raise when this runtime serves a read-only copy of the index (a server with several workers)."""
        if self.read_only:
            from corpus.errors import BackendUnavailable

            raise BackendUnavailable("多进程服务时索引只读：请停止服务后用 lawsearch ingest / delete 修改索引，"
                                     "或以单进程（--workers 1）运行服务，或改用 Qdrant 服务器",
                                     code="read_only")

    # ---- what retrieval is in use -------------------------------------------------------------------------
    @property
    def retrieval_description(self) -> str:
        from search.ranker import LearnedRanker

        sparse = "+".join(e.name for e in self.sparse_encoders)
        layout = self.index.layout()
        has_dense = bool(layout and "dense" in layout.dense) and self.embedder is not None
        dense = self.embedder.description if has_dense else "dense: none (lexical only)"
        if self.encoder_in_use():
            dense = f"{dense}; {self.encoder.description}" if has_dense else self.encoder.description
        learned = self.learned_wording()
        wording = (f"; wording: learned ({len(learned)} words from {learned.card.get('questions', 0)} questions)"
                   if learned else "")
        ranker = self.ranker()
        if ranker:
            ranking = f"; ranking: learned (LightGBM, {ranker.card.get('questions', '?')} questions)"
        elif LearnedRanker.saved(self.data_dir):
            ranking = "; ranking: fused (the saved ranker was trained on other features: run lawsearch train)"
        else:
            ranking = ""
        return f"sparse: BM25 ({sparse}){wording}; {dense}{ranking}"

    def encoder_in_use(self) -> bool:
        """The character encoder is configured and the index holds its vectors."""
        layout = self.index.layout()
        return self.encoder is not None and bool(layout and ENCODER_VECTOR in layout.dense)

    def retrieval_modes(self) -> dict[str, Any]:
        layout = self.index.layout()
        return {"backend": self.index.backend_name,
                "sparse": [e.name for e in self.sparse_encoders],
                "dense": (self.embedder.description if (self.embedder is not None and layout and "dense" in layout.dense)
                          else "none (lexical only)"),
                "encoder": self.encoder.description if self.encoder_in_use() else None,
                "description": self.retrieval_description,
                "home_region": self.home_region}

    # ---- ingest -------------------------------------------------------------------------------------------
    def _prepare(self, parsed, *, train: bool, progress: bool = True) -> None:
        """Before the first write: fit BM25 statistics, train the offline embedder when none exists, and make
        sure the collection exists with the matching vectors. `parsed`: the ingest's `ParsedSpill` (or a list of
        regulations)."""
        regulations = parsed.iterate if hasattr(parsed, "iterate") else lambda: iter(parsed)
        for enc in self.sparse_encoders:
            if enc.avgdl is None:
                enc.fit(document_text(a, r.title) for r in regulations() for a in r.articles)
        if self.embedder is None and train and not self.embedding_model:
            if getattr(parsed, "path", None) is not None and self.settings is not None:
                from service.children import train_embedder_apart

                train_embedder_apart(parsed.path, len(parsed), data_dir=self.data_dir,
                                     questions=self.labelled_questions(), progress=progress)
            else:
                from corpus.training import train_static_embedder

                train_static_embedder((a for r in regulations() for a in r.articles), data_dir=self.data_dir,
                                      question_records=self.labelled_questions(), progress=progress)
            self.embedder = load_embedder(data_dir=self.data_dir, model=None)
        self._ensure_collection()

    def _ensure_collection(self) -> None:
        """Create the collection for the current encoders, or check that the existing one matches them.

        An index built without dense vectors (`--no-train`) keeps searching lexically until `lawsearch train`
        rebuilds it with them."""
        layout = self.index.layout()
        dense = self._dense_layout()
        if layout is None and self.encoder is not None:
            # A new index: the encoder's vectors are written with every article from the start.
            self.index.ensure([e.name for e in self.sparse_encoders], dense)
            self.index.articles.set_meta(ENCODER_META, {"fingerprint": self.encoder.fingerprint})
        if layout is not None and dict(layout.dense) != dense:
            dense = dict(layout.dense)
            if not dense:
                log.warning("index has no dense vectors; run `lawsearch train` to add them")
        self.index.ensure([e.name for e in self.sparse_encoders], dense)
        self.index.articles.set_meta(SPARSE_META, {e.name: e.state() for e in self.sparse_encoders})
        if self.embedder is not None and dense:
            self.index.articles.set_meta(EMBEDDER_META, {"name": self.embedder.name, "dim": self.embedder.dim})

    def _dense_layout(self) -> dict[str, int]:
        """The dense vectors the index should hold: the static (or configured) embedder's, the encoder's."""
        dense = {"dense": self.embedder.dim} if self.embedder is not None else {}
        if self.encoder is not None:
            dense[ENCODER_VECTOR] = self.encoder.dim
        return dense

    def _rewrite_points(self, dense: dict[str, int], *, progress: bool) -> int:
        """Rebuild the collection with the `dense` vectors and rewrite every point from its payload (sparse and
        dense vectors encoded anew); returns the points written. Caller holds the write lock."""
        from corpus.model import Article
        from corpus.store import PointRecord

        hits = list(self.index.articles.scroll())
        layout = self.index.layout()
        if layout is not None and dict(layout.dense) != dense:
            layout.dense = dict(dense)  # another set of vectors: rebuilt, every point rewritten below
            self.index.articles.ensure_collection(layout, recreate=True)
        self._ensure_collection()
        texts = [document_text(a, a.regulation_title) for a in (Article.from_payload(h.payload) for h in hits)]
        vectors = {}
        if "dense" in dense and self.embedder is not None:
            vectors["dense"] = self.embedder.encode_documents(texts, progress=progress)
        if ENCODER_VECTOR in dense and self.encoder is not None:
            vectors[ENCODER_VECTOR] = self.encoder.encode_documents(texts, progress=progress)
        batch = 2048
        for s in range(0, len(hits), batch):
            self.index.articles.upsert([
                PointRecord(id=h.id, payload=h.payload,
                            sparse={e.name: e.encode_document(t) for e in self.sparse_encoders},
                            dense={n: [float(x) for x in v[s + i]] for n, v in vectors.items()})
                for i, (h, t) in enumerate(zip(hits[s : s + batch], texts[s : s + batch]))])
        self.index.flush()
        if self.encoder is not None and ENCODER_VECTOR in dense:
            self.index.articles.set_meta(ENCODER_META, {"fingerprint": self.encoder.fingerprint})
        self._engine = None  # the next search uses the new vectors
        return len(hits)

    def encoder_stale(self) -> bool:
        """An encoder is configured, the index exists, and it lacks this model's vectors."""
        layout = self.index.layout()
        if self.encoder is None or layout is None:
            return False
        meta = self.index.articles.get_meta(ENCODER_META) or {}
        return ENCODER_VECTOR not in layout.dense or meta.get("fingerprint") != self.encoder.fingerprint

    def ensure_encoder_vectors(self, *, progress: bool = True) -> int:
        """When an encoder is configured and the index lacks its vectors (or holds another model's): add the
        named vector and embed every indexed article once (later ingests embed only their new articles). Returns
        the points re-embedded (0 = nothing to do)."""
        if not self.encoder_stale():
            return 0
        dense = dict(self.index.layout().dense)
        dense[ENCODER_VECTOR] = self.encoder.dim
        t = time.perf_counter()
        n = self._rewrite_points(dense, progress=progress)
        if progress:
            print(f"已用字符编码器重新编码 {n} 条，用时 {time.perf_counter() - t:.0f} 秒", flush=True)
        return n

    def _all_unchanged(self, paths: list[str | Path]):
        """The summary of an ingest in which every file is already indexed with the same content, else None.

        Answers without importing the pipeline (Haystack alone takes over a second to import)."""
        from corpus.hashing import sha256_file
        from ingest.files import IngestSummary, find_files

        t0 = time.perf_counter()
        if not self.index.exists() or self.index.version_records(state="pending") or self.encoder_stale():
            return None
        files, failed = find_files(paths)
        if not files or failed or not all(parsed_by_current(self.index.version_by_sha(sha256_file(f)))
                                          for f in files):
            return None
        dense = self.embedder.description if self.embedder is not None else "dense: none (lexical only)"
        return IngestSummary(files=len(files), unchanged=len(files), dense=dense,
                             seconds=round(time.perf_counter() - t0, 3))

    def ingest(self, paths: list[str | Path], *, progress: bool = True, train: bool = True,
               yield_to_readers: bool = False):
        """Parse and index `paths`. `yield_to_readers`: the process also serves searches, which should not wait
        for the ingest: it sleeps briefly between parse batches and regulations, and while it runs the
        interpreter hands the GIL to waiting threads every 0.5 ms instead of 5 ms (see `yielding`)."""
        self.check_writable()
        if yield_to_readers:
            with yielding():
                return self._ingest(paths, progress=progress, train=train, pause_s=YIELD_PAUSE_S)
        return self._ingest(paths, progress=progress, train=train)

    def _ingest(self, paths: list[str | Path], *, progress: bool, train: bool, pause_s: float = 0.0):
        with self.write_lock:
            unchanged = self._all_unchanged(paths)
            if unchanged is not None:
                return unchanged
        from ingest.pipeline import Ingestor
        from ingest.writer import ArticleIndexWriter

        with self.write_lock:
            writer = ArticleIndexWriter(index=self.index, sparse_encoders=self.sparse_encoders,
                                        embedder=self.embedder)
            if self.index.layout() is not None:
                self._ensure_collection()
                self.ensure_encoder_vectors(progress=progress)

            def before_write(parsed):
                had = self.embedder is not None
                self._prepare(parsed, train=train, progress=progress)
                writer.embedder = self.embedder
                writer.encoder = self.encoder if self.encoder_in_use() else None
                writer.trained = self.embedder is not None and not had

            ingestor = Ingestor(self.index, writer, limits=self.limits, progress=progress,
                                before_write=before_write,
                                pause=(lambda: self.search_turns.give_way(pause_s)) if pause_s else None,
                                flush=not pause_s)
            summary = ingestor.run(paths)
            if pause_s:
                self._unflushed_points += summary.points + summary.replaced_points
                if self._unflushed_points >= DEFERRED_FLUSH_POINTS:
                    self.index.flush()
                    self._unflushed_points = 0
            if self._engine is not None:
                self._engine.refresh()
                self._engine.retriever.home_regions = frozenset(self.home_regions())
                if self._engine.retriever.ranker is not None:
                    self._engine.retriever.ranker_stats = self.regulation_stats()
        if self.optimize_after_ingest and summary.points >= OPTIMIZE_MIN_POINTS:
            # Edge has no background optimizer: build the dense HNSW graph after a bulk load.
            t = time.perf_counter()
            self._optimize_apart(progress=progress)
            summary.phases["optimize"] = round(time.perf_counter() - t, 1)
        if writer.trained and self.training_questions:
            self._train_ranker_apart(progress=progress)  # the first index of a library: its ranker (and level links)
        elif summary.points:
            self.refresh_level_links(progress=progress)
        return summary

    def _optimize_apart(self, *, progress: bool) -> None:
        """Build the dense HNSW graph in a child process (as `_train_ranker_apart`), or here under the write lock."""
        if not self._can_work_apart():
            with self.write_lock:
                self.index.articles.optimize()
            return
        self._apart("optimize", progress=progress)

    def _can_work_apart(self) -> bool:
        """A child process can open this index: the runtime was made by `open()` and embeds Qdrant Edge."""
        return self.settings is not None and self.index.backend_name == "qdrant-edge"

    def _train_ranker_apart(self, *, progress: bool) -> None:
        """`train_ranker` in a child process (its memory goes back when it ends; see service/children.py). In this
        process when the runtime was not made by `open()` or uses a Qdrant server."""
        if not self._can_work_apart():
            self.train_ranker(progress=progress)
            return
        self._apart("ranker", progress=progress)

    def _apart(self, kind: str, *, progress: bool) -> None:
        """One step on this index in a child process (`service.children`: "ranker" trains the learned ranker,
        "optimize" builds the dense HNSW graph): the embedded index is closed meanwhile and reopened in the same
        `ArticleIndex`, so the step's memory goes back when the child ends."""
        from service.children import run_apart

        with self.write_lock:
            self.index_open.clear()
            with self.search_turns:  # the searches under way finish first; later ones wait for the reopen
                self.index.close()
            try:
                run_apart(kind, self.settings, progress=progress)
            finally:
                reopened = Runtime.open(self.settings)  # the same folders, the same collections
                self.index.articles = reopened.index.articles
                self.index.versions_store = reopened.index.versions_store
                self._forget_trained()
                self.index_open.set()

    def train(self, *, progress: bool = True) -> Path:
        """Retrain the offline embedder on the indexed current articles and re-embed every point."""
        self.check_writable()
        from corpus.model import Article
        from corpus.training import train_static_embedder

        arts = [Article.from_payload(h.payload) for h in self.index.articles.scroll()]
        path = train_static_embedder(arts, data_dir=self.data_dir, question_records=self.labelled_questions(),
                                     progress=progress)
        self.embedder = load_embedder(data_dir=self.data_dir, model=None)
        with self.write_lock:
            dense = {"dense": self.embedder.dim}
            if self.encoder is not None:
                dense[ENCODER_VECTOR] = self.encoder.dim
            self._rewrite_points(dense, progress=progress)
        if self.optimize_after_ingest and self.index.articles.count() >= OPTIMIZE_MIN_POINTS:
            # every point was rewritten into fresh segments, without the dense HNSW graph: build it again (left
            # out, searches of the main job's index went from 19 to 32 ms)
            self._optimize_apart(progress=progress)
        self.train_ranker(progress=progress)
        return path

    def train_encoder(self, *, out_dir: Path | None = None, settings: Any = None, command: str = "",
                      query_steps: int = 800, progress: bool = True):
        """Train the character encoder on the indexed current articles and the labelled questions; returns the
        trained model (folder and card). Two stages (`corpus.encoder_training`): the document network learns from
        the library alone (masked characters, then first sentence ↔ article), the library is embedded once, and a
        query network is fine-tuned on the questions against those fixed vectors (retraining it on new questions
        re-embeds nothing). The index starts using a model once it is configured (LAWSEARCH_ENCODER_MODEL): the
        next ingest embeds the indexed articles with it."""
        from corpus.charencoder import CharEncoderEmbedder
        from corpus.encoder_training import VERSION, train_encoder, train_query_tower
        from corpus.model import Article
        from corpus.store import Condition, FilterSpec

        flt = FilterSpec(must=[Condition(field="is_current", eq=True)])
        # An article's first part: the encoder reads the first characters of an article only.
        arts = [Article.from_payload(h.payload) for h in self.index.articles.scroll(flt)
                if h.payload.get("kind", "article") == "article" and not h.payload.get("part")]
        questions = self.labelled_questions()
        if out_dir is None:
            s = settings
            name = f"{VERSION}-{s.layers}L{s.dim}-{s.max_len}" if s is not None else VERSION
            out_dir = self.data_dir / "models" / "encoder" / name
        out_dir = Path(out_dir)
        data = {"articles": f"{len(arts)} current articles of the index {self.data_dir}",
                "questions": [str(p) for p in self.training_questions] + (["accepted feedback"] if questions else [])}
        docs = train_encoder(arts, out_dir=out_dir.with_name(out_dir.name + "-documents"), settings=settings,
                             command=command, data=data, progress=progress)
        if not questions:
            return docs
        vectors = CharEncoderEmbedder(docs.folder).encode_documents([document_text(a) for a in arts],
                                                                    progress=progress)
        return train_query_tower(docs.folder, vectors, [a.key for a in arts], questions, out_dir=out_dir,
                                 steps=query_steps, command=command, progress=progress,
                                 threads=settings.threads if settings is not None else 2)

    # ---- search -------------------------------------------------------------------------------------------
    @property
    def engine(self):
        if self._engine is not None:
            return self._engine
        with self._engine_lock:  # the start-up warm-up thread and the first request may both get here
            if self._engine is not None:
                return self._engine
            from search.engine import SearchEngine
            from search.retrieval import HybridRetriever

            layout = self.index.layout()
            embedder = self.embedder if (layout and layout.dense) else None
            retriever = HybridRetriever(self.index.articles, self.sparse_encoders, embedder,
                                        home_regions=self.home_regions(), encoder=self.encoder)
            ranker = self.ranker()
            if ranker is not None:
                retriever.use_ranker(ranker, self.regulation_stats())
            retriever.use_wording(self.learned_wording())
            self._label = retrieval_words(self.retrieval_description)
            from search.levels import LevelLinks

            self._engine = SearchEngine(self.index, retriever, mode_description=self.retrieval_description,
                                        violation_rerank=self.violation_rerank, home_region=self.home_region,
                                        levels=LevelLinks.load(self.data_dir))
        return self._engine

    def ranker(self):
        """The learned ranker saved with the index (`lawsearch train`), or None: fused order and priors. Read
        from disk once; training or removing it here reads it anew."""
        from search.ranker import LearnedRanker

        if self._ranker is _UNREAD:
            self._ranker = LearnedRanker.load(self.data_dir)
        return self._ranker

    def learned_wording(self):
        """The lay wording learned with the ranker (`search.learned_wording`), or None: the hand glossary alone. Read
        from disk once, like the ranker."""
        from search.learned_wording import LearnedWording

        if self._wording is _UNREAD:
            self._wording = LearnedWording.load(self.data_dir)
        return self._wording

    def _forget_trained(self) -> None:
        """The saved ranker and wording changed on disk: read them anew, and build the engine anew with them."""
        self._ranker = _UNREAD
        self._wording = _UNREAD
        self._engine = None

    def regulation_stats(self):
        """Title words and sizes of the current regulations, for the ranker's features."""
        from search.ranker import RegulationStats

        return RegulationStats.from_versions(self.index.version_records())

    def remove_ranker(self) -> None:
        """Searches go back to the fused order and priors (the saved ranker and learned wording are deleted)."""
        from search.learned_wording import LearnedWording
        from search.ranker import LearnedRanker

        LearnedRanker.remove(self.data_dir)
        LearnedWording.remove(self.data_dir)
        self._forget_trained()

    def train_ranker(self, *, progress: bool = True) -> Path | None:
        """Train the learned ranker on the labelled questions with this index's candidates and save it beside
        the index; None when there are no labelled questions."""
        from search.engine import build_filter
        from search.learned_wording import LearnedWording
        from search.learning import (FoldEmbedder, article_texts, fold_retriever, inner_half, question_group,
                                     train_ranker)
        from search.neighbours import LabelledNeighbours
        from search.ranker import FEATURE_FIELDS, LearnedRanker
        from search.retrieval import RERANK_FIELDS

        questions = self.labelled_questions()
        if not questions:
            return None
        # Training candidates come from the fused order (a saved ranker is not applied to them), so the old
        # ranker keeps serving until the new one replaces it.
        engine = self.engine
        flt = build_filter({}, engine.titles, home_region=self.home_region)
        stats, home = self.regulation_stats(), self.home_regions()
        # The training's own retriever: the engine's, shallow-copied, so the fields, wording and candidates set for
        # training never reach a search served meanwhile (store and caches are shared, read only).
        trainer = copy.copy(engine.retriever)
        trainer.use_ranker(trainer.ranker, stats)
        if progress:
            print(f"训练排序模型：{len(questions)} 个标注问题", flush=True)
        if trainer.use_dense and not self.embedding_model:
            # The offline embedder was trained on these questions: their dense scores would look better than a
            # new question's, so the ranker learns from two half-trained embedders' out-of-fold scores.
            fold_embedder = FoldEmbedder(self.index.articles, flt=flt, data_dir=self.data_dir,
                                         fields=list(RERANK_FIELDS) + list(FEATURE_FIELDS) + ["title"])
            texts = fold_embedder.texts
            ranker = train_ranker(questions, flt, fold_embedder=fold_embedder, progress=progress,
                                  make_retriever=lambda emb, dense, wording: fold_retriever(
                                      self.index.articles, self.sparse_encoders, emb, dense, wording,
                                      home_regions=home, stats=stats))
        else:  # lexical only, or a pretrained model that never saw the questions: the index's own candidates
            # (with lay wording learned from the other half of the questions, as the fold retrievers have it)
            texts = article_texts(self.index.articles, flt)
            neighbours = LabelledNeighbours.of_questions(questions)
            trainer.use_neighbours(neighbours)
            groups = []
            for half in (0, 1):
                trainer.use_wording(LearnedWording.mine([q for q in questions if inner_half(q) != half], texts))
                groups += [question_group(trainer, q, flt)[0] for q in questions if inner_half(q) == half]
            ranker = LearnedRanker.train(groups, neighbours=neighbours)
            ranker.card["dense_features"] = "in-sample (the dense model did not see the questions)"
        wording = LearnedWording.mine(questions, texts)
        wording.card["questions_files"] = [str(p) for p in self.training_questions]
        ranker.card["pool"] = trainer.ranker_pool
        ranker.card["questions_files"] = [str(p) for p in self.training_questions]
        folder = ranker.save(self.data_dir)
        wording.save(self.data_dir)
        self.build_level_links(progress=progress)
        self._forget_trained()
        if progress:
            print(f"排序模型已训练：{len(questions)} 个标注问题，用时 {ranker.card['training_seconds']} 秒；"
                  f"从问题中学到 {len(wording)} 个日常用语的法言法语", flush=True)
        return folder

    def refresh_level_links(self, *, progress: bool = True) -> None:
        """`build_level_links` after an ingest wrote points; a failure there is reported and leaves the ingest whole
        (searches then show the links built before, or none)."""
        try:
            self.build_level_links(progress=progress)
        except Exception as exc:  # noqa: BLE001 — the links are an aid; the ingest has already succeeded
            log.warning("level links not rebuilt: %s", exc)
            if progress:
                print(f"警告：各层级对应条文未能更新（{exc}），检索不受影响", flush=True)

    def build_level_links(self, *, progress: bool = True) -> Path | None:
        """The same rule at the other levels (search.levels): the home texts' articles beside the national articles
        they restate, saved beside the ranker. None without a home region."""
        from corpus.store import Condition, FilterSpec
        from search.levels import LevelLinks, build_links, laws_rested_on, national_laws

        home = self.home_regions()
        if not home:
            return None
        t = time.perf_counter()
        fields = ["kind", "is_current", "region", "version_id", "article_no", "article_suffix", "title",
                  "regulation_id", "text"]

        def current(cond: Condition) -> list[dict]:
            flt = FilterSpec(must=[Condition(field="is_current", eq=True), cond])
            return [h.payload for h in self.index.articles.scroll(flt, fields=fields)]

        # The home texts, then only the national laws they rest on (a few thousand articles of 150k).
        local = current(Condition(field="region", any_of=sorted(home)))
        laws = national_laws(self.index.version_records())
        wanted = laws_rested_on(local, home, laws)
        national = current(Condition(field="regulation_id", any_of=sorted(wanted))) if wanted else []
        links = build_links(local + national, home, laws=laws)
        levels = LevelLinks.of(links, home)
        path = levels.save(self.data_dir, links)
        if self._engine is not None:  # the searches' engine keeps its warm tables; only its links change
            self._engine.use_levels(levels)
        if progress:
            print(f"各层级对应条文：{len(links)} 对（{'、'.join(sorted(home))}与国家法律），用时 "
                  f"{time.perf_counter() - t:.0f} 秒", flush=True)
        return path

    @property
    def search_is_quick(self) -> bool:
        """Whether a search now is only its own CPU work (≈20 ms): the engine is built and no write runs, so it
        waits for neither the one-off set-up nor a writer. The API then runs it on the event loop itself."""
        return self._engine is not None and not self.write_lock.locked()

    def search(self, query: str, *, top_k: int = 10, filters: dict | None = None) -> dict:
        # A step in a child process (the HNSW graph after a bulk load: minutes) may have the index closed: wait
        # for it rather than fail (an error after APART_WAIT_S, when the index is still closed).
        deadline = time.monotonic() + APART_WAIT_S
        while True:
            self.index_open.wait(max(0.0, deadline - time.monotonic()))
            with self.search_turns:
                if self.index_open.is_set() or time.monotonic() >= deadline:
                    result = self.engine.search(query, top_k=top_k, filters=filters)
                    break
        result["retrieval_label"] = self._label  # which retrieval ran, for end users (the mode says it in English)
        return result

    def home_regions(self) -> set[str]:
        """The home region and its province (read from the indexed texts), whose local texts rank like national
        law in unfiltered searches; empty without a home region or an index."""
        from corpus.regions import home_regions

        if not self.home_region or not self.index.exists():
            return set()
        return home_regions(self.home_region, self.index.version_records())

    def warm(self, *, freeze_gc: bool = False) -> dict[str, Any]:
        """Do the one-off work of the first searches now: build the query pipeline and title book, read every
        point's re-ranking fields into memory and run one search. Returns what it did and how long it took.

        `freeze_gc` (a serving process): then move every object alive to the garbage collector's permanent
        generation (`gc.freeze`). The warm process holds ≈770k objects for its lifetime (field table, caches,
        models); a full collection walked them all, ≈340 ms during which no search ran, now and then in the middle
        of serving. Frozen, a full collection takes ≈0.2 ms. The price: reference cycles among the frozen objects
        are never collected (the engine rebuilt after an ingest in the same process leaves its old one)."""
        t0 = time.perf_counter()
        if not self.index.exists():
            return {"rows": 0, "seconds": 0.0}
        engine = self.engine
        rows = engine.retriever.warm()
        engine.search("安全生产", top_k=1)
        if freeze_gc:
            import gc

            gc.collect()
            gc.freeze()
        return {"rows": rows, "seconds": round(time.perf_counter() - t0, 2)}
