"""引用核验: every citation of a text (a leaflet, a notice, an assistant's answer) checked against the index.

For each citation — 《title》第X条第Y款第（Z）项, a short title (安全生产法第二十八条), or 本条例第X条 resolved against the
nearest title the text names — the report says: whether the law and the article exist; which version the citation
was written for (the one in force on the document's date when given, else the version whose article the quoted
text matches, else the current one); when that version has been superseded, where the rule sits now (the
alignment of search.compare); and whether text in quotation marks after the citation is the article's text verbatim,
and if not, the article whose text it is.

Verdicts: current (正确), superseded (旧条号：已修订), misquoted (引文与条文不符), article_not_found (条文不存在),
law_not_found (未收录该法规), ambiguous (法规名称不明确), unresolved (“本条例”无从确定).
"""
from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from corpus.articles import ArticleRecord
from corpus.errors import InvalidFilter
from corpus.index import ArticleIndex, date_int
from corpus.numerals import article_label, int_to_cn
from search.citations import CitationMatch, find_citations
from search.compare import VersionArticle, align, edition_records, editions
from search.titles import TitleBook
from search.words import word_list

VERDICTS = ("current", "superseded", "misquoted", "article_not_found", "law_not_found", "ambiguous", "unresolved")
VERDICT_NAMES = {"current": "正确", "superseded": "已修订（旧条号）", "misquoted": "引文与条文不符",
                 "article_not_found": "条文不存在", "law_not_found": "未收录该法规", "ambiguous": "法规名称不明确",
                 "unresolved": "无法确定所指法规"}
CHANGE_NAMES = {"same": "条文未变", "renumbered": "条号变化、内容未变", "modified": "内容已修改", "split": "已拆分",
                "merged": "已合并", "deleted": "已删除"}
MAX_TEXT = 200_000  # characters of one document
#: A quotation right after a citation (规定：“…”), with a few words between them at most.
_QUOTE_AFTER = re.compile(r"^[^“”\"「」。\n]{0,12}?[“\"「](?P<q>[^”\"」]{2,1000})[”\"」]")
_QUOTE_ANY = re.compile(r"[“\"「][^”\"」]{2,1000}[”\"」]")
_BRACKETED = re.compile(r"《(?P<t>[^》]{2,80})》")
_PUNCT = str.maketrans({",": "，", ";": "；", ":": "：", "(": "（", ")": "）", "?": "？", "!": "！"})
_ELLIPSIS = re.compile(r"…+|\.{3,}|⋯+")
#: A quotation whose character pairs lie this much inside an article is taken to be (a paraphrase of) that article.
CLOSE_MIN = 0.6


def _norm(text: str) -> str:
    return re.sub(r"[\s\u3000]+", "", text).translate(_PUNCT).rstrip("。；，")


def _pairs(text: str) -> set[str]:
    t = re.sub(r"[\s\u3000，。、；：？！“”（）《》]", "", text)
    return {t[i:i + 2] for i in range(len(t) - 1)}


def quote_in(quote: str, text: str) -> bool:
    """The quotation is the article's text verbatim: every piece between ellipses occurs, in order."""
    body, pos = _norm(text), 0
    for piece in (_norm(p) for p in _ELLIPSIS.split(quote)):
        if not piece:
            continue
        found = body.find(piece, pos)
        if found < 0:
            return False
        pos = found + len(piece)
    return True


def closeness(quote: str, text: str) -> float:
    want = _pairs(quote)
    return len(want & _pairs(text)) / len(want) if want else 0.0


@dataclass
class _Edition:
    title: str
    version_date: str
    version_ids: list[str]
    is_current: bool
    valid_from: int
    valid_to: int
    articles: dict[tuple[int, str], ArticleRecord] = field(default_factory=dict)


class CitationChecker:
    """Checks the citations of a text against the index. `search` (query, top_k) → result dict is used to find the
    article a misattributed quotation comes from when it is not in the cited regulation."""

    def __init__(self, index: ArticleIndex, titles: TitleBook, search: Callable[..., dict] | None = None):
        self.index = index
        self.titles = titles
        self.search = search
        self.self_words = word_list("self_references")
        self._editions: dict[str, list[_Edition]] = {}
        self._alignments: dict[tuple[str, str], dict] = {}

    # ---- the regulation's editions, read once per check --------------------------------------------------
    def editions_of(self, regulation_id: str) -> list[_Edition]:
        if regulation_id not in self._editions:
            eds = []
            for e in editions(self.index, regulation_id):
                recs = edition_records(self.index, e["version_ids"])
                eds.append(_Edition(e["title"], e["version_date"], e["version_ids"], e["is_current"], e["valid_from"],
                                    e["valid_to"], {(r.article_no, r.article_suffix): r for r in recs}))
            self._editions[regulation_id] = eds
        return self._editions[regulation_id]

    def alignment(self, old: _Edition, new: _Edition) -> dict:
        key = (old.version_date, new.version_date + "|" + ",".join(new.version_ids))
        if key not in self._alignments:
            self._alignments[key] = align([VersionArticle.from_record(r) for r in old.articles.values()],
                                          [VersionArticle.from_record(r) for r in new.articles.values()])
        return self._alignments[key]

    # ---- the text ----------------------------------------------------------------------------------------
    def check(self, text: str, *, as_of: str | None = None) -> dict[str, Any]:
        text = text or ""
        if not text.strip():
            raise InvalidFilter("待核验的文本为空", detail="text")
        if len(text) > MAX_TEXT:
            raise InvalidFilter(f"文本过长（{len(text)} 字，上限 {MAX_TEXT} 字）", detail="text")
        day = None
        if as_of:
            try:
                day = date_int(datetime.date.fromisoformat(as_of).isoformat()) \
                    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", as_of) else None
            except ValueError:
                day = None
            if day is None:
                raise InvalidFilter("文件日期格式应为 YYYY-MM-DD", detail=as_of)
        self._editions.clear()
        self._alignments.clear()
        quotes = [m.span() for m in _QUOTE_ANY.finditer(text)]
        mentions = self._mentions(text)
        out = []
        for match in find_citations(text):
            s, e = match.citation.span
            if any(qs < s and e <= qe for qs, qe in quotes):
                continue  # a citation inside quoted text belongs to the quotation, not to the document
            out.append(self._check_one(text, match, mentions, day))
        summary = {v: sum(1 for c in out if c["verdict"] == v) for v in VERDICTS}
        return {"citations": out, "summary": summary, "total": len(out), "as_of": as_of,
                "verdict_names": VERDICT_NAMES}

    def _mentions(self, text: str) -> list[tuple[int, str]]:
        """(position, regulation id) of every title the text names, in order: what 本条例 can refer to."""
        found = []
        # a document headed by a law's title (the text of a regulation, a notice about one) names it first
        head = next((line.strip(" #\t\u3000") for line in text.splitlines() if line.strip()), "")
        regs = {r["regulation_id"] for r in self.titles.resolve(head)} if 2 <= len(head) <= 80 else set()
        if len(regs) == 1:
            found.append((0, regs.pop()))
        for m in _BRACKETED.finditer(text):
            regs = {r["regulation_id"] for r in self.titles.resolve(m.group("t"))}
            if len(regs) == 1:
                found.append((m.start(), regs.pop()))
        for match in find_citations(text):
            if self._self_word(text, match):
                continue
            for cand in match.title_candidates:
                regs = {r["regulation_id"] for r in self.titles.resolve(cand)}
                if regs:
                    if len(regs) == 1:
                        found.append((match.citation.span[0], regs.pop()))
                    break
        return sorted(found)

    def _self_word(self, text: str, match: CitationMatch) -> str:
        """本条例/本法… when the citation's title is one (the longer readings of a bare title naming no law)."""
        if text[match.citation.span[0]:match.citation.span[0] + 1] == "《":
            return ""
        for k, cand in enumerate(match.title_candidates):
            if cand in self.self_words:
                return "" if any(self.titles.resolve(c) for c in match.title_candidates[:k]) else cand
        return ""

    def _check_one(self, text: str, match: CitationMatch, mentions: list[tuple[int, str]],
                   day: int | None) -> dict[str, Any]:
        c = match.citation
        s, e = c.span
        label = c.label
        word = self._self_word(text, match)
        # A bare title's match starts where the sentence does (根据徐州市安全生产条例…): the citation starts at
        # the reading of the title that names a law (or at 本条例).
        if not text.startswith(c.title, s) and not text.startswith(f"《{c.title}》", s):
            # a later article of the same title (第二条、第三十一条): the span starts at its separator
            while s < e and text[s] in "、，, 和及与以至\u3000":
                s += 1
        elif text[s:s + 1] != "《":
            named = word or next((cand for cand in match.title_candidates if self.titles.resolve(cand)), "")
            if named:
                s += max(0, len(c.title) - len(named))
        row: dict[str, Any] = {"written": text[s:e], "span": [s, e], "label": label}
        quote_m = _QUOTE_AFTER.match(text[e:])
        quote = quote_m.group("q") if quote_m else None
        if quote_m:
            row["quote_span"] = [e + quote_m.start("q"), e + quote_m.end("q")]
        # Which regulation
        rid = None
        if word:
            row["self_reference"] = word
            before = [r for p, r in mentions if p < s]
            after = [r for p, r in mentions if p > s]
            rid = before[-1] if before else (after[0] if after else None)
            if rid is None:
                return self._finish(row, "unresolved", f"“{word}”之前没有写明法规名称，无法确定所指法规", quote)
        else:
            recs: list[dict] = []
            for cand in match.title_candidates:
                recs = self.titles.resolve(cand)
                if recs:
                    break
            regs = {r["regulation_id"]: r["title"] for r in recs}
            if not regs:
                nearest = self.titles.nearest(c.title)
                row["nearest"] = [f"《{t}》" for t in nearest]
                return self._finish(row, "law_not_found", f"索引中没有名为“{c.title}”的法规" + (
                    f"；相近的法规：{'、'.join(row['nearest'])}" if nearest else ""), quote)
            if len(regs) > 1:
                named = [r for _, r in mentions if r in regs]
                if named:
                    rid = named[-1]
                else:
                    row["candidates"] = sorted(regs.values())
                    return self._finish(row, "ambiguous", f"“{c.title}”对应多部法规："
                                        + "、".join(f"《{t}》" for t in row["candidates"]) + "，请写明全称", quote)
            else:
                rid = next(iter(regs))
        eds = self.editions_of(rid)
        current = next((ed for ed in reversed(eds) if ed.is_current), eds[-1])
        title = current.title
        row.update(regulation_id=rid, title=title, citation=f"《{title}》{label}")
        key = (c.article_no, c.article_suffix)
        # Which edition it was written for
        target = None
        how = "current"
        if day is not None:
            target = next((ed for ed in eds if ed.valid_from <= day < ed.valid_to), None)
            how = "as_of"
            if target is None:
                return self._finish(row, "article_not_found", f"《{title}》在该日期没有有效版本", quote)
        elif quote and not (key in current.articles and quote_in(quote, current.articles[key].text)):
            target = next((ed for ed in reversed(eds) if key in ed.articles and quote_in(quote, ed.articles[key].text)),
                          None)
            how = "quote" if target is not None else how
        if target is None and key not in current.articles:
            target = next((ed for ed in reversed(eds) if key in ed.articles), None)
            how = "number" if target is not None else how
        target = target or current
        row["version"] = {"version_date": target.version_date, "is_current": target.is_current, "chosen_by": how}
        art = target.articles.get(key)
        if art is None:
            count = len(target.articles)
            return self._finish(row, "article_not_found",
                                f"《{title}》{'' if target.is_current else target.version_date + '版'}没有"
                                f"{article_label(c.article_no, c.article_suffix)}（共{int_to_cn(count)}条）", quote,
                                regulation=(rid, eds))
        problem = self._clause_problem(art, c.clause_no, c.item_no)
        if problem:
            return self._finish(row, "article_not_found", f"《{title}》{art.label}{problem}", quote,
                                regulation=(rid, eds))
        row["article"] = {"label": art.label, "text": art.text, "version_date": target.version_date}
        verdict, message = "current", f"《{title}》{label}，现行有效"
        if not target.is_current:
            result = self.alignment(target, current)
            mapped = next((r for r in result["rows"] if art.label in r["old"]), None)
            status = mapped["status"] if mapped else "deleted"
            now = [] if not mapped or not mapped.get("new") else [mapped["new"]]
            row["now"] = [{"label": lab, "citation": f"《{title}》{lab}", "status": status,
                           "status_name": CHANGE_NAMES.get(status, status),
                           "text": current.articles[_key_of(current, lab)].text if _key_of(current, lab) else ""}
                          for lab in now]
            if status == "same":
                message = f"《{title}》{label}（{target.version_date}版）在现行版本中未变"
            else:
                verdict = "superseded"
                where = (f"现行版本为{'、'.join(now)}（{CHANGE_NAMES.get(status, status)}）" if now
                         else "现行版本已删除该条")
                message = f"引用的是{target.version_date}版的{art.label}，该版本已被修订；{where}"
        return self._finish(row, verdict, message, quote, article=art, regulation=(rid, eds))

    @staticmethod
    def _clause_problem(art: ArticleRecord, clause_no: int | None, item_no: int | None) -> str:
        clauses = art.clauses
        if clause_no and clause_no > len(clauses):
            return f"只有{int_to_cn(len(clauses))}款，没有第{int_to_cn(clause_no)}款"
        if item_no:
            items = clauses[clause_no - 1].get("items") if clause_no else [i for cl in clauses for i in cl.get("items") or []]
            if item_no > len(items or []):
                return f"没有第（{int_to_cn(item_no)}）项"
        return ""

    def _finish(self, row: dict, verdict: str, message: str, quote: str | None, *, article: ArticleRecord | None = None,
                regulation: tuple[str, list[_Edition]] | None = None) -> dict:
        if quote is not None:
            q: dict[str, Any] = {"text": quote}
            if article is not None:
                q["verbatim"] = quote_in(quote, article.text)
            if not q.get("verbatim"):
                q["verbatim"] = False
                q["source"] = self._source_of(quote, regulation)
                if article is not None and verdict in ("current", "superseded"):
                    verdict = "misquoted"
                    src = q["source"]
                    message = "引号中的文字不是该条原文" + (
                        f"；与{src['citation']}{'原文一致' if src['verbatim'] else '最接近'}" if src else "")
            row["quote"] = q
        row.update(verdict=verdict, verdict_name=VERDICT_NAMES[verdict], message=message)
        return row

    def _source_of(self, quote: str, regulation: tuple[str, list[_Edition]] | None) -> dict | None:
        """The article whose text a quotation is: in the cited regulation (any edition, current first), else in
        the index at large (through search); verbatim first, then the closest above CLOSE_MIN."""
        cands: list[tuple[str, str, bool]] = []  # (citation, text, current)
        if regulation is not None:
            _, eds = regulation
            for ed in sorted(eds, key=lambda ed: not ed.is_current):
                for art in ed.articles.values():
                    suffix = "" if ed.is_current else f"（{ed.version_date}版）"
                    cands.append((f"《{art.title}》{art.label}{suffix}", art.text, ed.is_current))
        if self.search is not None:
            try:
                hits = self.search(quote[:200], top_k=5).get("hits") or []
            except Exception:  # noqa: BLE001 - a quotation that is no good query leaves only the regulation's own
                hits = []
            cands += [(f"《{h.get('title')}》{h.get('label')}", h.get("text") or "", True) for h in hits]
        for cit, body, cur in cands:
            if quote_in(quote, body):
                return {"citation": cit, "verbatim": True, "is_current": cur}
        scored = sorted(((closeness(quote, body), k) for k, (_, body, _) in enumerate(cands)), reverse=True)
        if scored and scored[0][0] >= CLOSE_MIN:
            cit, _, cur = cands[scored[0][1]]
            return {"citation": cit, "verbatim": False, "is_current": cur, "closeness": round(scored[0][0], 3)}
        return None


def _key_of(edition: _Edition, label: str) -> tuple[int, str] | None:
    return next((k for k, a in edition.articles.items() if a.label == label), None)


def annotate(text: str, report: dict) -> list[dict[str, Any]]:
    """The text cut into segments for display: plain text, and each citation with its verdict (in order)."""
    out, pos = [], 0
    for k, c in enumerate(report["citations"]):
        s, e = c["span"]
        if s < pos:
            continue
        if s > pos:
            out.append({"text": text[pos:s]})
        out.append({"text": text[s:e], "citation": k, "verdict": c["verdict"]})
        pos = e
    if pos < len(text):
        out.append({"text": text[pos:]})
    return out


__all__ = ["VERDICTS", "VERDICT_NAMES", "CitationChecker", "annotate", "quote_in"]
