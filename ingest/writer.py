"""Writes parsed regulations into the index: payloads, sparse and dense vectors, one version at a time."""
from __future__ import annotations

from typing import Any

from haystack import component

from corpus.encoders import document_text
from corpus.index import ArticleIndex, WriteResult, point_id
from corpus.model import Article, Regulation
from corpus.store import PointRecord
from corpus.titles import normalize_title, title_aliases
from ingest.parser_version import PARSER_VERSION

REGULATION_FIELDS = ("title", "short_title", "level", "region", "office", "status", "version_date",
                     "effective_date", "publish_date", "adopted_date", "amended_date", "source_path", "source_format",
                     "sha256", "has_articles")


def regulation_record(reg: Regulation) -> dict[str, Any]:
    """The version record: everything about the regulation version except its articles."""
    rec = {k: getattr(reg, k) for k in REGULATION_FIELDS}
    rec.update(regulation_id=reg.regulation_id, version_id=reg.version_id, title_key=normalize_title(reg.title),
               aliases=sorted(title_aliases(reg.title) | title_aliases(reg.short_title)),
               history=reg.history, preamble=reg.preamble, warnings=reg.warnings,
               article_count=len({(a.article_no, a.article_suffix) for a in reg.articles}),
               agencies=sorted(reg.extra.get("agencies", [])),
               first_effective_date=reg.extra.get("first_effective_date", ""), parser_version=PARSER_VERSION)
    return rec


def article_payload(reg: Regulation, art: Article, record: dict[str, Any]) -> dict[str, Any]:
    payload = {k: record[k] for k in ("regulation_id", "version_id", "title", "title_key", "short_title", "aliases",
                                      "level", "region", "office", "status", "version_date", "effective_date",
                                      "sha256")}
    payload.update(article_no=art.article_no, article_suffix=art.article_suffix, label=art.label,
                   headings=art.headings, clauses=[{"text": c.text, "items": c.items} for c in art.clauses],
                   text=art.text, part=art.part, parts=art.parts, kind=art.kind,
                   citation=art.citation)
    enforcement = art.extra.get("enforcement")
    payload["agencies"] = sorted(set((enforcement or {}).get("agencies", [])) | set(record.get("agencies", [])))
    payload["is_penalty"] = bool((enforcement or {}).get("is_penalty", False))
    # Most articles name no penalty, link or reference: store the analysis only where it says something, which
    # keeps the payload (and the write) of a 150k-article corpus small.
    if enforcement and any(enforcement.get(k) for k in ("is_penalty", "penalizes", "penalized_by", "sanctions",
                                                         "references_out")):
        payload["enforcement"] = enforcement
        payload["fine_min"] = enforcement.get("fine_min")
        payload["fine_max"] = enforcement.get("fine_max")
    return payload


@component
class ArticleIndexWriter:
    """Encodes articles with the configured sparse encoders and dense embedder and writes one version at a time."""

    def __init__(self, *, index: ArticleIndex, sparse_encoders: list, embedder: Any = None, max_chars: int = 512,
                 encoder: Any = None):
        self.index = index
        self.sparse_encoders = sparse_encoders
        self.embedder = embedder
        self.encoder = encoder  # the character encoder: its own named vector (`encoder.name`) beside the static one
        self.max_chars = max_chars
        self.trained = False

    @property
    def dense_description(self) -> str:
        return getattr(self.embedder, "description", "") if self.embedder is not None else "dense: none (lexical only)"

    def write(self, reg: Regulation, *, flip: bool = True) -> WriteResult:
        record = regulation_record(reg)
        texts = [document_text(a, reg.title) for a in reg.articles]
        sparse = {enc.name: enc.encode_documents(texts) for enc in self.sparse_encoders}
        dense = {}
        if self.embedder is not None and texts:
            dense["dense"] = self.embedder.encode_documents(texts)
        if self.encoder is not None and texts:
            dense[self.encoder.name] = self.encoder.encode_documents(texts)
        points = []
        for i, art in enumerate(reg.articles):
            points.append(PointRecord(
                id=point_id(reg.version_id, art.article_no, art.article_suffix, art.part, art.kind),
                payload=article_payload(reg, art, record),
                sparse={name: vecs[i] for name, vecs in sparse.items()},
                dense={name: [float(x) for x in vecs[i]] for name, vecs in dense.items()}))
        return self.index.write_version(record, points, flip=flip)

    @component.output_types(results=list[WriteResult])
    def run(self, regulations: list[Regulation]) -> dict[str, list[WriteResult]]:
        return {"results": [self.write(r) for r in regulations]}
