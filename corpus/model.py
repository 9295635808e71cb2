"""The domain model: a regulation (one version of one text), its articles (条) with 款 and 项, and citations."""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

from corpus.numerals import article_label
from corpus.titles import normalize_title, short_title

LEVELS = ("宪法", "法律", "行政法规", "监察法规", "部门规章", "地方性法规", "自治条例和单行条例", "地方政府规章",
          "司法解释", "规范性文件", "其他")
STATUS_IN_FORCE = "有效"
STATUSES = ("有效", "已修改", "已废止", "尚未生效", "已被修订", "失效")
# 制定/通过/批准/公布/修正/修订/施行: the history events a preamble may state.
HISTORY_EVENTS = ("通过", "批准", "公布", "修正", "修订", "施行", "发布")


@dataclass
class Clause:
    """A 款: one paragraph of an article; `items` are its 项 (（一）…), each possibly with 目 (1. …)."""

    text: str
    items: list[str] = field(default_factory=list)


@dataclass
class Article:
    """The unit of search: one 条 (or one part of a long 条, same citation), or one paragraph of a text without 条."""

    regulation_title: str
    article_no: int
    article_suffix: str = ""
    label: str = ""
    headings: list[str] = field(default_factory=list)  # 编/章/节 path, outermost first
    clauses: list[Clause] = field(default_factory=list)
    text: str = ""  # the article body without its label, 款 joined by newlines
    part: int = 0  # 0-based part index when a long article is split for the embedder
    parts: int = 1
    kind: str = "article"  # "article" or "paragraph" (texts with no 条: 修正案, decisions)
    extra: dict[str, Any] = field(default_factory=dict)  # analyses added by ingest (e.g. "enforcement")

    def __post_init__(self) -> None:
        if not self.label and self.kind == "article":
            self.label = article_label(self.article_no, self.article_suffix)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> "Article":
        """The article (part) as the index stores it: what re-embedding and training read back."""
        return cls(regulation_title=payload.get("title") or "", article_no=int(payload.get("article_no") or 0),
                   article_suffix=payload.get("article_suffix") or "", label=payload.get("label") or "",
                   headings=list(payload.get("headings") or []), text=payload.get("text") or "",
                   kind=payload.get("kind") or "article")

    @property
    def citation(self) -> str:
        return f"《{self.regulation_title}》{self.label}"

    @property
    def key(self) -> tuple[str, int, str]:
        return (normalize_title(self.regulation_title), self.article_no, self.article_suffix)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["citation"] = self.citation
        return d


@dataclass
class Regulation:
    """One version of one regulation as parsed from one file."""

    title: str
    articles: list[Article] = field(default_factory=list)
    short_title: str = ""
    level: str = ""
    region: str = ""
    office: str = ""
    preamble: str = ""
    # Dates as ISO strings. history: [{"event": "通过", "date": "2019-10-30", "by": "…"}]
    history: list[dict[str, str]] = field(default_factory=list)
    adopted_date: str = ""
    publish_date: str = ""
    effective_date: str = ""
    amended_date: str = ""
    version_date: str = ""
    status: str = ""
    has_articles: bool = True  # False: split into paragraphs (修正案, 决定)
    source_path: str = ""
    source_format: str = ""
    sha256: str = ""
    warnings: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.short_title:
            self.short_title = short_title(self.title)

    @property
    def regulation_id(self) -> str:
        """Stable id of the regulation across versions: derived from the normalised title."""
        return "reg-" + hashlib.sha1(normalize_title(self.title).encode("utf-8")).hexdigest()[:12]

    @property
    def version_id(self) -> str:
        """Stable id of this version: the regulation plus its version date (or the file hash when undated)."""
        tag = self.version_date or self.sha256[:12]
        # A code published in several files (民法典 总则/物权编/…) has one version per volume, current together.
        volume = self.extra.get("volume")
        return f"{self.regulation_id}@{tag}" + (f"/{volume}" if volume else "")

    def to_dict(self, with_articles: bool = True) -> dict[str, Any]:
        d = asdict(self)
        d["regulation_id"] = self.regulation_id
        d["version_id"] = self.version_id
        if with_articles:
            d["articles"] = [a.to_dict() for a in self.articles]
        else:
            d.pop("articles")
        d["article_count"] = len({(a.article_no, a.article_suffix) for a in self.articles})
        return d


@dataclass(frozen=True)
class Citation:
    """A reference to an article, as written by a user or another text: 《安全生产法》第四十五条第二款第（三）项."""

    title: str  # as written (may be a short name); empty for 本法/本条例 references
    article_no: int
    article_suffix: str = ""
    clause_no: int | None = None  # 款
    item_no: int | None = None  # 项
    span: tuple[int, int] = (0, 0)

    @property
    def label(self) -> str:
        out = article_label(self.article_no, self.article_suffix)
        if self.clause_no:
            from corpus.numerals import int_to_cn

            out += f"第{int_to_cn(self.clause_no)}款"
        if self.item_no:
            from corpus.numerals import int_to_cn

            out += f"第（{int_to_cn(self.item_no)}）项"
        return out


def own_effective_date(rec: dict) -> str:
    """The version's own 施行 date, or "" when the one read from its text predates the version (the first version's)."""
    effective, version = rec.get("effective_date") or "", rec.get("version_date") or ""
    return effective if effective and (not version or effective >= version) else ""


def first_effective_date(rec: dict) -> str:
    """The first version's 施行 date that a version's text states instead of its own: as ingest recorded it, or (a
    record written before ingest kept it apart) its effective_date when that predates the version."""
    return rec.get("first_effective_date") or ("" if own_effective_date(rec) else rec.get("effective_date") or "")
