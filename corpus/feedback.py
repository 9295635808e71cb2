"""Users' feedback on search results: "this article answered my question" or "none of these".

Kept durably in the data directory (`feedback/feedback.jsonl`, one JSON object a line, appended with fsync; a review
rewrites the file atomically). Every append and every read-modify-write holds `feedback.jsonl.lock` (corpus.locking):
the worker processes of `lawsearch serve --workers N` share the file, and an entry appended between another process's
read and its replace would be lost. Questions can hold personal data, so entries older than the retention period are
dropped on every write and read. An admin reviews entries (accept / reject); accepted ones become labelled questions
(the format of ../shared/eval/*.jsonl) that `lawsearch train` folds into training, and that an admin can export.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from corpus.errors import InvalidFilter, NotFound
from corpus.locking import FileLock

FEEDBACK_DIR = "feedback"
FEEDBACK_FILE = "feedback.jsonl"
STATUSES = ("pending", "accepted", "rejected")
MAX_QUESTION_CHARS = 500


@dataclass
class FeedbackEntry:
    """One user's verdict on one search. `article` is None for "none of these"."""

    id: str
    created: str  # local time, ISO 8601 with offset
    question: str
    article: dict | None = None  # {"title", "article_no", "article_suffix"}
    shown: list[dict] = field(default_factory=list)  # the articles the user saw, same shape
    filters: dict = field(default_factory=dict)
    status: str = "pending"
    reviewed: str | None = None
    reviewer: str | None = None

    def as_question(self) -> dict | None:
        """The entry as a labelled question (None unless it names an article)."""
        if not self.article:
            return None
        a = self.article
        return {"id": f"feedback-{self.id}", "query": self.question,
                "relevant": [{"title": a["title"], "article": int(a["article_no"]),
                              "suffix": a.get("article_suffix") or ""}]}


def _ends_mid_line(path: Path) -> bool:
    """True when the file's last line has no newline (an append cut short by a crash)."""
    if not path.is_file() or path.stat().st_size == 0:
        return False
    with open(path, "rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) != b"\n"


def _now() -> dt.datetime:
    return dt.datetime.now().astimezone()


def _article(value: Any, what: str) -> dict:
    if not isinstance(value, dict) or not str(value.get("title") or "").strip():
        raise InvalidFilter(f"{what}应写明法规标题和条号", detail=what)
    try:
        no = int(value.get("article_no"))
    except (TypeError, ValueError):
        raise InvalidFilter(f"{what}的条号应为整数", detail=str(value.get("article_no"))) from None
    if not 0 < no < 100_000:
        raise InvalidFilter(f"{what}的条号不存在", detail=str(no))
    return {"title": str(value["title"]).strip()[:200], "article_no": no,
            "article_suffix": str(value.get("article_suffix") or "")[:8]}


class FeedbackStore:
    """Append, list, review and export feedback entries in one data directory (safe across threads and processes)."""

    def __init__(self, data_dir: Path, *, retention_days: int = 180):
        self.path = Path(data_dir) / FEEDBACK_DIR / FEEDBACK_FILE
        self.retention_days = retention_days
        self._lock = FileLock(self.path)

    # -- reading ----------------------------------------------------------------------------------------------
    def _read(self) -> list[FeedbackEntry]:
        if not self.path.is_file():
            return []
        out = []
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    try:
                        out.append(FeedbackEntry(**json.loads(line)))
                    except (ValueError, TypeError):
                        continue  # a line cut by a crash mid-append: the rest stays readable
        return out

    def _kept(self, entries: list[FeedbackEntry]) -> list[FeedbackEntry]:
        if self.retention_days <= 0:
            return entries
        cutoff = _now() - dt.timedelta(days=self.retention_days)
        return [e for e in entries if dt.datetime.fromisoformat(e.created) >= cutoff]

    def entries(self, status: str | None = None) -> list[FeedbackEntry]:
        if status is not None and status not in STATUSES:
            raise InvalidFilter("反馈状态只能是 pending、accepted 或 rejected", detail=status)
        if not self.path.is_file():
            return []  # nothing to read: no lock file either (a read does not create the feedback folder)
        with self._lock:
            entries = self._kept(self._read())
        return [e for e in entries if status is None or e.status == status]

    def accepted_questions(self) -> list[dict]:
        """Accepted feedback that names an article, as labelled questions for training."""
        return [q for q in (e.as_question() for e in self.entries("accepted")) if q]

    # -- writing ----------------------------------------------------------------------------------------------
    def _rewrite(self, entries: list[FeedbackEntry]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(asdict(e), ensure_ascii=False) + "\n" for e in entries)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(self.path)

    def add(self, question: str, article: dict | None, *, shown: list | None = None,
            filters: dict | None = None) -> FeedbackEntry:
        question = (question or "").strip()
        if not question:
            raise InvalidFilter("反馈需要写明所问的问题", detail="question")
        if len(question) > MAX_QUESTION_CHARS:
            raise InvalidFilter(f"问题不能超过 {MAX_QUESTION_CHARS} 个字", detail="question")
        entry = FeedbackEntry(id=uuid.uuid4().hex, created=_now().isoformat(timespec="seconds"), question=question,
                              article=_article(article, "所选条文") if article is not None else None,
                              shown=[_article(a, "展示的条文") for a in (shown or [])[:50]],
                              filters={str(k): v for k, v in (filters or {}).items() if isinstance(v, (str, bool))})
        with self._lock:
            entries = self._read()
            kept = self._kept(entries)
            if len(kept) != len(entries):
                self._rewrite(kept + [entry])  # expired entries leave with this write
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                cut = _ends_mid_line(self.path)
                with open(self.path, "a", encoding="utf-8") as fh:
                    # after a line cut by a crash, start a new line so this entry stays readable
                    fh.write(("\n" if cut else "") + json.dumps(asdict(entry), ensure_ascii=False) + "\n")
                    fh.flush()
                    os.fsync(fh.fileno())
        return entry

    def review(self, entry_id: str, *, accept: bool, reviewer: str) -> FeedbackEntry:
        with self._lock:
            entries = self._kept(self._read())
            found = next((e for e in entries if e.id == entry_id), None)
            if found is None:
                raise NotFound("没有这条反馈（可能已超过保存期限被删除）", detail=entry_id)
            found.status = "accepted" if accept else "rejected"
            found.reviewed = _now().isoformat(timespec="seconds")
            found.reviewer = reviewer
            self._rewrite(entries)
        return found

    def export(self) -> str:
        """Accepted feedback as labelled questions, one JSON object a line."""
        return "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in self.accepted_questions())


__all__ = ["STATUSES", "FeedbackEntry", "FeedbackStore"]
