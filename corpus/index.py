"""The indexed collection's semantics on top of the store: versions, currentness, safe replacement, deletion.

Two collections in the same store backend:
- `<collection>`: one point per article (or article part), payload = article + regulation metadata.
- `<collection>_versions`: one record per regulation version (file), the commit marker of a write.

A version is written as: record(state=pending) → article points → record(state=complete, flipping) → currentness
flip → flipping cleared. A crash before the complete record leaves a pending record; `recover()` (run at the start
of every ingest) deletes the points of pending versions, so a rerun ends in exactly the state of a clean run. A
rewrite in place of an indexed version keeps its complete record readable and puts the pending record beside it
(`rewrite_marker_id`), so that readers never lose the version; a crash mid-way rolls the version back the same way. The
points of a new version are written not current, so until its record is complete the old version stays the only
current one (also for a reader that opens the index after a crash, before any recover). A crash during the flip
leaves `flipping` set; `recover()` redoes the flip of that regulation. Searches see each article at most once per
regulation because the flip sets the new version current before the old one is retired and search collapses hits
by article key; they never see it missing because old points are removed only after the new ones are in.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterable

from corpus.errors import AmbiguousTitle, NotFound
from corpus.store import ArticleStore, CollectionLayout, Condition, FilterSpec, Hit, PointRecord
from corpus.titles import normalize_title, records_named, title_aliases

_NS = uuid.UUID("6f1d3c1e-52a8-4d0e-9a53-5a1c0c1b7e11")
FAR_FUTURE = 99991231

# Payload fields that filters use: declared as payload indexes on both backends.
KEYWORD_FIELDS = ["regulation_id", "version_id", "title_key", "aliases", "level", "region", "status", "agencies",
                  "kind", "sha256", "article_suffix", "doc_type"]
INTEGER_FIELDS = ["article_no", "valid_from", "valid_to", "part"]
BOOL_FIELDS = ["is_current", "is_penalty"]
#: Article numbers at or above this are no article's (民法典, the longest text, has 1,260).
MAX_ARTICLE_NO = 1_000_000
REGISTRY_TTL_S = 5.0  # how long the version registry is read from memory at most (see ArticleIndex._registry)
# Set on a version's record and points by the currentness flip.
CURRENTNESS_FIELDS = ("is_current", "superseded_by", "valid_from", "valid_to")
VERSION_KEYWORD_FIELDS = ["regulation_id", "version_id", "sha256", "source_shas", "state", "title_key",
                          "source_path"]


def point_id(version_id: str, article_no: int, suffix: str, part: int, kind: str = "article") -> str:
    return str(uuid.uuid5(_NS, f"{version_id}|{kind}|{article_no}|{suffix}|{part}"))


def version_point_id(version_id: str) -> str:
    return str(uuid.uuid5(_NS, f"version|{version_id}"))


def rewrite_marker_id(version_id: str) -> str:
    """The pending record of a rewrite in place, kept beside the version's complete record."""
    return str(uuid.uuid5(_NS, f"rewrite|{version_id}"))


def date_int(iso: str | None) -> int | None:
    """'2024-12-09' → 20241209 (integer range filters work the same on every backend)."""
    if not iso:
        return None
    digits = iso[:10].replace("-", "")
    return int(digits) if len(digits) == 8 and digits.isdigit() else None


def _eq(field_name: str, value: Any) -> Condition:
    return Condition(field=field_name, eq=value)


@dataclass
class WriteResult:
    version_id: str
    regulation_id: str
    points: int
    replaced: int = 0
    is_current: bool = True
    alternate_of: str = ""  # set when the file is another, less complete source of an indexed version
    warnings: list[str] = field(default_factory=list)


class ArticleIndex:
    """Versions and articles of all regulations, on any `ArticleStore` backend."""

    def __init__(self, articles: ArticleStore, versions: ArticleStore):
        self.articles = articles
        self.versions_store = versions
        # state → (versions store generation, monotonic time of the last whole read, records by point id in the
        # store's order): see `_registry`
        self._registries: dict[str | None, tuple[int, float, dict[str, dict]]] = {}

    # ---- set-up -------------------------------------------------------------------------------------------
    def ensure(self, sparse_names: list[str], dense: dict[str, int]) -> None:
        self.articles.ensure_collection(CollectionLayout(
            sparse=list(sparse_names), dense=dict(dense), keyword_fields=KEYWORD_FIELDS,
            integer_fields=INTEGER_FIELDS, bool_fields=BOOL_FIELDS))
        self.versions_store.ensure_collection(CollectionLayout(
            sparse=[], dense={"marker": 1}, keyword_fields=VERSION_KEYWORD_FIELDS, integer_fields=[],
            bool_fields=["is_current"]))

    def layout(self) -> CollectionLayout | None:
        return self.articles.layout()

    @property
    def backend_name(self) -> str:
        return self.articles.backend_name

    def close(self) -> None:
        self.articles.close()
        self.versions_store.close()

    # ---- versions registry --------------------------------------------------------------------------------
    def exists(self) -> bool:
        return self.versions_store.layout() is not None and self.articles.layout() is not None

    def version_records(self, regulation_id: str | None = None, *, state: str | None = "complete") -> list[dict]:
        if not self.exists():
            return []
        if regulation_id is None:
            return [dict(r) for r in self._registry(state)]
        must = []
        if regulation_id:
            must.append(_eq("regulation_id", regulation_id))
        if state:
            must.append(_eq("state", state))
        return [h.payload for h in self.versions_store.scroll(FilterSpec(must=must))]

    def _registry(self, state: str | None) -> list[dict]:
        """Every version record in `state` (shared: read, never change). Kept until a write through this index's
        versions store, and at most `REGISTRY_TTL_S` seconds (writes by another process, e.g. API workers sharing
        a Qdrant server): a citation lookup resolves its title here, and reading the 3,400 records of the
        library anew cost ≈ 90 ms of a 110 ms lookup (`lawsearch bench reingest-load`'s probes)."""
        gen = self.versions_store.generation  # read before the scroll: a write during it leaves the copy stale
        now = time.monotonic()
        kept = self._registries.get(state)
        if kept is not None and now - kept[1] < REGISTRY_TTL_S:
            rows = kept[2] if kept[0] == gen else self._patched_registry(kept[2], kept[0], state)
            if rows is not None:
                self._registries[state] = (gen, kept[1], rows)
                return list(rows.values())
        flt = FilterSpec(must=[_eq("state", state)] if state else [])
        rows = {h.id: h.payload for h in self.versions_store.scroll(flt)}
        self._registries[state] = (gen, now, rows)
        return list(rows.values())

    def _patched_registry(self, rows: dict[str, dict], since: int, state: str | None) -> dict[str, dict] | None:
        """`rows` (read at generation `since`) with the records this index wrote since then read anew: during a
        re-ingest every version write moves the generation, and reading all 3,400 records again after each cost a
        search 60–90 ms. None when the store does not say which records the writes changed."""
        changes = self.versions_store.changes_since(since)
        if changes is None or any(c is None or c.keys for c in changes):
            return None
        ids = {i for c in changes for i in c.ids}
        fresh = {h.id: h.payload for h in self.versions_store.retrieve(sorted(ids))
                 if not state or h.payload.get("state") == state}
        out = {i: r for i, r in rows.items() if i not in ids} | fresh
        # the scroll's order: by point id (UUIDs compare as numbers)
        return dict(sorted(out.items(), key=lambda kv: uuid.UUID(kv[0]).int))

    def version_by_sha(self, sha256: str) -> dict | None:
        """The complete version that this file (by content hash) already produced, as its source or alternate."""
        if not self.exists():
            return None
        hits = list(self.versions_store.scroll(FilterSpec(must=[_eq("source_shas", sha256),
                                                                _eq("state", "complete")])))
        return hits[0].payload if hits else None

    def version_record(self, version_id: str) -> dict | None:
        if not self.exists():
            return None
        got = self.versions_store.retrieve([version_point_id(version_id)])
        return got[0].payload if got else None

    def _put_version(self, record: dict) -> None:
        self.versions_store.upsert([PointRecord(id=version_point_id(record["version_id"]), payload=record,
                                                dense={"marker": [1.0]})])

    def recover(self) -> list[str]:
        """Remove what an interrupted write left behind. Returns the version ids that were rolled back."""
        rolled, finished = [], []
        for rec in self.version_records(state="pending"):
            vid = rec["version_id"]
            main = self.version_record(vid)
            if main and main.get("state") == "complete" and main.get("sha256") == rec.get("sha256"):
                # A rewrite in place that wrote its complete record: only its marker was left to remove.
                self.versions_store.delete_ids([rewrite_marker_id(vid)])
                finished.append(vid)
                continue
            # A half-rewritten version (same id) cannot be restored point by point, since its points were
            # overwritten in place: the safe state is "version absent", and the rerun writes it whole again.
            self.articles.delete(FilterSpec(must=[_eq("version_id", vid)]))
            self.versions_store.delete_ids([version_point_id(vid), rewrite_marker_id(vid)])
            rolled.append(vid)
            if rec.get("regulation_id"):
                self._recompute_currentness(rec["regulation_id"])
        flipping = [] if not self.exists() else [h.payload for h in self.versions_store.scroll(
            FilterSpec(must=[_eq("state", "complete"), _eq("flipping", True)]))]
        for rid in sorted({rec["regulation_id"] for rec in flipping}):
            self._recompute_currentness(rid)
        for rec in flipping:
            self._end_flip(rec["version_id"])
        if rolled or finished or flipping:
            self.flush()
        return rolled

    def flush(self) -> None:
        self.articles.flush()
        self.versions_store.flush()

    # ---- writing ------------------------------------------------------------------------------------------
    def write_version(self, record: dict, points: list[PointRecord], *, flip: bool = True) -> WriteResult:
        """Write one regulation version (all its article points) as a unit.

        `record` holds the regulation metadata (regulation_id, version_id, title, version_date, sha256, …).
        Points must carry payload fields regulation_id/version_id; currentness fields are set here.
        `flip=False` writes the version complete but leaves currentness alone (a new version stays hidden): for
        all volumes of one code but the last, so that the old edition stays whole until the new one is; the
        flip of the last volume (or `flip()`) switches the whole regulation. A crash in between leaves the
        written volumes complete and hidden, and the rerun skips them and writes the rest.
        """
        vid, rid = record["version_id"], record["regulation_id"]
        old = self.version_record(vid)
        record = dict(record, source_shas=[record["sha256"]], alternates=[])
        if old and old.get("state") == "complete" and old.get("source_path") != record.get("source_path"):
            # The same version from another file (the .pdf of an indexed .docx, a partial scan): keep the more
            # complete text as the source and remember the other file, so re-ingesting it is a no-op.
            alt = {"source_path": record.get("source_path"), "sha256": record["sha256"],
                   "article_count": record.get("article_count", 0)}
            if record.get("article_count", 0) <= old.get("article_count", 0):
                self._put_version(dict(old, source_shas=sorted(set(old.get("source_shas", [])) | {record["sha256"]}),
                                       alternates=old.get("alternates", []) + [alt]))
                return WriteResult(version_id=vid, regulation_id=rid, points=0,
                                   is_current=bool(old.get("is_current")), alternate_of=old.get("source_path", ""))
            prev = {"source_path": old.get("source_path"), "sha256": old.get("sha256"),
                    "article_count": old.get("article_count", 0)}
            record["alternates"] = [a for a in old.get("alternates", []) if a["sha256"] != record["sha256"]] + [prev]
            record["source_shas"] = sorted({record["sha256"], *old.get("source_shas", [])})
        others = [r for r in self.version_records(rid) if r["version_id"] != vid]
        will_be_current = self._is_latest(record, others)
        pending = dict(record, state="pending", ingested_at=time.time(), is_current=False)
        if old:
            pending["previous_sha256"] = old.get("sha256")
        # A rewrite in place overwrites the version's points under the same ids, so they stay visible; its complete
        # record stays too (readers find the version through it), and the pending record goes beside it.
        in_place = bool(old) and old.get("state") == "complete"
        if in_place:
            self.versions_store.upsert([PointRecord(id=rewrite_marker_id(vid), payload=pending,
                                                    dense={"marker": [1.0]})])
        else:
            self._put_version(pending)

        new_ids = {p.id for p in points}
        # A new version's points stay hidden (not current) until its record is complete and the flip turns them on;
        # a rewrite of the same version overwrites current points in place (same ids), so they stay visible.
        # A rewrite in place keeps the currentness fields the version has (same date, same place among the
        # versions) on its points and record; the flip below changes them only if they no longer hold.
        kept = {k: old[k] for k in CURRENTNESS_FIELDS if k in old} if in_place else {}
        for p in points:
            p.payload.update(is_current=will_be_current and bool(old), doc_type="article")
            p.payload.update(kept)
        # Points of an existing current version stay visible until the new ones are in (same ids overwrite).
        self.articles.upsert(points)
        replaced = 0
        if old:
            stale = [h.id for h in self.articles.scroll(FilterSpec(must=[_eq("version_id", vid)]), fields=[])
                     if h.id not in new_ids]
            if stale:
                self.articles.delete_ids(stale)
            replaced = len(stale)
        flip = flip or bool(old)  # only a new version waits for its flip: a rewrite in place retires nothing
        complete = dict(pending, state="complete", article_points=len(points), flipping=flip)
        complete.update(kept)
        self._put_version(complete)
        if in_place:
            self.versions_store.delete_ids([rewrite_marker_id(vid)])
        if not flip:
            return WriteResult(version_id=vid, regulation_id=rid, points=len(points), replaced=replaced,
                               is_current=False)
        self._recompute_currentness(rid)
        current = self._end_flip(vid) or complete
        return WriteResult(version_id=vid, regulation_id=rid, points=len(points), replaced=replaced,
                           is_current=bool(current.get("is_current")))

    def flip(self, regulation_id: str, version_id: str) -> None:
        """Recompute the currentness of a regulation whose last write was `write_version(..., flip=False)`;
        marked on `version_id`'s record like a write's own flip, so a crash midway is redone by `recover()`."""
        rec = self.version_record(version_id)
        if rec is None or rec.get("state") != "complete":
            return
        self._put_version(dict(rec, flipping=True))
        self._recompute_currentness(regulation_id)
        self._end_flip(version_id)

    def _end_flip(self, version_id: str) -> dict | None:
        rec = self.version_record(version_id)
        if rec is not None and rec.get("flipping"):
            rec = dict(rec, flipping=False)
            self._put_version(rec)
        return rec

    @staticmethod
    def _edition(rec: dict) -> str:
        """Records with the same version date are one edition (volumes of one code, or one text's parts)."""
        return rec.get("version_date") or ""

    def _is_latest(self, record: dict, others: list[dict]) -> bool:
        return all(self._edition(record) >= self._edition(o) for o in others)

    def _recompute_currentness(self, regulation_id: str) -> None:
        """The latest edition by version date is current (all its volumes); older editions are superseded and
        linked to their successor. The new current edition is switched on before older ones are switched off."""
        recs = self.version_records(regulation_id)
        if not recs:
            return
        editions = sorted({self._edition(r) for r in recs})
        first_of = {e: min(r["version_id"] for r in recs if self._edition(r) == e) for e in editions}
        valid_from_of = {}
        for e in editions:
            members = [r for r in recs if self._edition(r) == e]
            valid_from_of[e] = min((date_int(r.get("effective_date")) or date_int(r.get("version_date")) or 0)
                                   for r in members)
        plans = []
        for rec in recs:
            i = editions.index(self._edition(rec))
            nxt = editions[i + 1] if i + 1 < len(editions) else None
            plans.append((rec, {"is_current": nxt is None, "superseded_by": first_of[nxt] if nxt is not None else "",
                                "valid_from": valid_from_of[editions[i]],
                                "valid_to": (valid_from_of[nxt] or FAR_FUTURE) if nxt is not None else FAR_FUTURE}))
        # Current first, so that at no moment a regulation has no current article.
        plans.sort(key=lambda rp: not rp[1]["is_current"])
        for rec, flags in plans:
            if all(rec.get(k) == v for k, v in flags.items()):
                continue
            self.articles.set_payload(flags, FilterSpec(must=[_eq("version_id", rec["version_id"])]))
            self._put_version(dict(rec, **flags))

    # ---- deleting -----------------------------------------------------------------------------------------
    def delete(self, regulation_id: str, version_id: str | None = None) -> int:
        """Delete one version or all versions of a regulation. Returns the number of versions removed."""
        recs = self.version_records(regulation_id, state=None)
        if version_id:
            recs = [r for r in recs if r["version_id"] == version_id]
        if not recs:
            raise NotFound("未找到该法规或版本", detail=version_id or regulation_id)
        for rec in recs:
            self.articles.delete(FilterSpec(must=[_eq("version_id", rec["version_id"])]))
            self.versions_store.delete_ids([version_point_id(rec["version_id"])])
        self._recompute_currentness(regulation_id)
        self.flush()
        return len(recs)

    # ---- reading ------------------------------------------------------------------------------------------
    def regulations(self) -> list[dict]:
        """One row per version: id, title, level, region, version date, status, current flag, article count."""
        rows = self.version_records()
        rows.sort(key=lambda r: (r.get("title_key", ""), r.get("version_date", "")))
        return rows

    def resolve_title(self, text: str, *, current_only: bool = True) -> list[dict]:
        """Regulations a (possibly short) title names: exact key first, then aliases (安全生产条例 → local texts)."""
        if not self.exists():
            return []
        key = normalize_title(text)
        recs = [r for r in self._registry("complete") if (r.get("is_current") or not current_only)]
        return [dict(r) for r in records_named(recs, key)]

    def article(self, title: str, article_no: int, suffix: str = "", *, version_id: str | None = None,
                as_of: str | None = None) -> tuple[dict, list[Hit]]:
        """The article of the current (or given, or in-force-on `as_of`) version. Returns (version record, parts)."""
        cands = self.resolve_title(title, current_only=not (version_id or as_of))
        regs = {r["regulation_id"] for r in cands}
        if not regs:
            raise NotFound(f"未找到法规《{title}》", detail=title)
        if len(regs) > 1:
            titles = sorted({r["title"] for r in cands})
            raise AmbiguousTitle(f"“{title}”对应多部法规，请写明全称", candidates=titles)
        rid = regs.pop()
        versions = self.version_records(rid)
        if version_id:
            chosen = [v for v in versions if v["version_id"] == version_id]
        elif as_of:
            day = date_int(as_of) or 0
            chosen = [v for v in versions if v.get("valid_from", 0) <= day < v.get("valid_to", FAR_FUTURE)]
        else:
            # A flip switches the new edition on (volume by volume) before the old one off: for a moment both are
            # current, and the article would come back from both, or from neither when its volume is the one not
            # yet switched (measured by `lawsearch bench reingest-load`). The latest current edition answers, with
            # all its volumes.
            current = [v for v in versions if v.get("is_current")]
            latest = max((self._edition(v) for v in current), default=None)
            chosen = [v for v in versions if current and self._edition(v) == latest]
        if not chosen:
            raise NotFound(f"《{title}》在指定日期没有有效版本", detail=as_of or version_id or "")
        # An edition may span several volumes (民法典): look the article up in all of them. A number no article can
        # have (the store's integers stop at 2^63) is simply not there.
        hits = [] if not 0 <= int(article_no) < MAX_ARTICLE_NO else list(self.articles.scroll(FilterSpec(must=[
            Condition(field="version_id", any_of=sorted(v["version_id"] for v in chosen)),
            _eq("article_no", int(article_no)), _eq("article_suffix", suffix or "")])))
        if not hits:
            rec = chosen[0]
            raise NotFound(f"《{rec['title']}》没有第{article_no}条", detail=f"{rec['title']} {article_no}{suffix}")
        rec = next(v for v in chosen if v["version_id"] == hits[0].payload["version_id"])
        hits.sort(key=lambda h: h.payload.get("part", 0))
        return rec, hits

    def version_articles(self, version_id: str) -> list[Hit]:
        hits = list(self.articles.scroll(FilterSpec(must=[_eq("version_id", version_id)])))
        hits.sort(key=lambda h: (h.payload.get("article_no", 0), h.payload.get("article_suffix", ""),
                                 h.payload.get("part", 0)))
        return hits

    def counts(self) -> dict[str, int]:
        if not self.exists():
            return {"points": 0, "versions": 0}
        return {"points": self.articles.count(), "versions": self.versions_store.count(
            FilterSpec(must=[_eq("state", "complete")]))}


def aliases_for(title: str) -> list[str]:
    return sorted(title_aliases(title))


def chunked(items: list, size: int) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
