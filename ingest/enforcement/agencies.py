"""Enforcing agencies named in a text, normalised to one canonical name each (ingest/data/agencies.json).

县级以上地方人民政府应急管理部门 → 应急管理; 国务院市场监督管理部门 → 市场监督管理; older names map to the agency that
took over (工商行政管理部门 → 市场监督管理, 公安机关消防机构 → 消防救援, 环境保护主管部门 → 生态环境); collective names
(负有安全生产监督管理职责的部门) map to their lead agency and are flagged as groups.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "agencies.json"
# What follows a core name to make it a department: 应急管理(行政)(主管)部门, 公安机关, 司法行政机关 …
_DEPT_SUFFIX = r"(?:工作)?(?:行政)?(?:监督)?(?:主管|管理)?(?:部门|机关|机构|委员会|局|厅|部(?![分门位署]))"


@dataclass(frozen=True)
class AgencyMention:
    name: str  # canonical
    written: str
    span: tuple[int, int]
    older: bool = False  # written under a predecessor's name
    group: bool = False  # a collective name (负有…职责的部门)


@lru_cache(maxsize=1)
def load_agencies(path: str | None = None) -> list[dict[str, Any]]:
    data = json.loads(Path(path or DATA_FILE).read_text(encoding="utf-8"))
    return data["agencies"]


@lru_cache(maxsize=1)
def _forms() -> list[tuple[str, str, str, str, bool, bool]]:
    """Every written form as (group id, regex, literal start, canonical, older, group), longest first: at one
    start position the first alternative that matches wins, and a core counts as core plus a typical suffix, so
    公安机关消防机构 beats 公安 + 机关."""
    forms: list[tuple[str, str, str, str, bool, bool, int]] = []
    for i, a in enumerate(load_agencies()):
        for j, w in enumerate(a.get("groups", [])):
            forms.append((f"g{i}_{j}", re.escape(w), w, a["name"], False, True, len(w)))
        for j, w in enumerate(a.get("aliases", [])):
            forms.append((f"a{i}_{j}", re.escape(w), w, a["name"], False, False, len(w)))
        for j, w in enumerate(a.get("older", [])):
            forms.append((f"o{i}_{j}", re.escape(w), w, a["name"], True, False, len(w)))
        for j, w in enumerate(a.get("cores", [])):
            forms.append((f"c{i}_{j}", re.escape(w) + _DEPT_SUFFIX, w, a["name"], False, False, len(w) + 4))
        for j, w in enumerate(a.get("older_cores", [])):
            forms.append((f"k{i}_{j}", re.escape(w) + _DEPT_SUFFIX, w, a["name"], True, False, len(w) + 4))
    forms.sort(key=lambda f: -f[6])
    return [f[:6] for f in forms]


@lru_cache(maxsize=1)
def _matcher() -> tuple[re.Pattern[str], dict[str, tuple[str, bool, bool]]]:
    """One alternation of every written form, longest first; and group-name → (canonical, older, group)."""
    forms = _forms()
    pattern = re.compile("|".join(f"(?P<{gid}>{regex})" for gid, regex, *_ in forms))
    info = {gid: (canonical, older, group) for gid, _, _, canonical, older, group in forms}
    return pattern, info


@lru_cache(maxsize=1)
def _prefix_matchers() -> dict[str, re.Pattern[str]]:
    """`_matcher()`'s alternation split by the first two characters of each form (every form is ≥ 2 characters):
    at a position only the forms that can start there are tried, in the same order, so the matches are the same
    and a long text is scanned many times faster."""
    by_prefix: dict[str, list[str]] = {}
    for gid, regex, word, *_ in _forms():
        by_prefix.setdefault(word[:2], []).append(f"(?P<{gid}>{regex})")
    return {k: re.compile("|".join(v)) for k, v in by_prefix.items()}


_ABBREV = re.compile(r"[（(]以下(?:简|统)称[“「]?(?P<short>[^）)”」，,]{2,16})[”」]?[）)]")


def local_aliases(text: str) -> dict[str, str]:
    """Abbreviations a text defines for an agency: 市容和环境卫生行政管理部门（以下简称市容环卫部门）."""
    out: dict[str, str] = {}
    for m in _ABBREV.finditer(text or ""):
        before = _mentions(text[max(0, m.start() - 40):m.start()], {})
        if before and before[-1].span[1] == min(40, m.start()):
            out[m.group("short")] = before[-1].name
    return out


def _mentions(text: str, extra: dict[str, str]) -> list[AgencyMention]:
    _, info = _matcher()
    by_prefix = _prefix_matchers()
    out = []
    text = text or ""
    i, n = 0, len(text)
    # Same result as _matcher()'s pattern.finditer (leftmost, non-overlapping), but only the forms that start with
    # the next two characters are tried.
    while i < n:
        pattern = by_prefix.get(text[i:i + 2])
        if pattern is None:
            i += 1
            continue
        m = pattern.match(text, i)
        if m is None:
            i += 1
            continue
        name, older, group = info[m.lastgroup or ""]
        out.append(AgencyMention(name=name, written=m.group(0), span=m.span(), older=older, group=group))
        i = m.end()
    for short, name in extra.items():
        for m in re.finditer(re.escape(short), text or ""):
            if not any(a.span[0] < m.end() and m.start() < a.span[1] for a in out):
                out.append(AgencyMention(name=name, written=short, span=m.span()))
    out.sort(key=lambda a: a.span)
    return out


def find_agency_mentions(text: str, extra_aliases: dict[str, str] | None = None) -> list[AgencyMention]:
    """Every agency name in `text`; `extra_aliases` (abbreviation → canonical) adds a text's own short names."""
    return _mentions(text, extra_aliases or {})


def find_agencies(text: str, include_groups: bool = True, extra_aliases: dict[str, str] | None = None) -> list[str]:
    """Canonical names of the agencies named in `text`, in order of first mention, each once."""
    seen: list[str] = []
    for mention in find_agency_mentions(text, extra_aliases):
        if mention.group and not include_groups:
            continue
        if mention.name not in seen:
            seen.append(mention.name)
    return seen


def canonical_agency(name: str) -> str | None:
    """The canonical name for one written agency name (劳动行政部门 → 人力资源和社会保障), or None."""
    found = find_agencies(name)
    return found[0] if found else None


def agency_names() -> list[str]:
    return [a["name"] for a in load_agencies()]


@lru_cache(maxsize=1)
def written_forms() -> dict[str, tuple[str, ...]]:
    """Every name of every agency as one may type it (canonical name, cores, aliases, older names, the short forms
    of 'typed') → the canonical agencies it names (more than one when a form is shared)."""
    out: dict[str, list[str]] = {}
    for a in load_agencies():
        for key in ("name", "cores", "older_cores", "aliases", "older", "typed"):
            values = [a[key]] if key == "name" else a.get(key, [])
            for form in values:
                names = out.setdefault(form, [])
                if a["name"] not in names:
                    names.append(a["name"])
    return {form: tuple(names) for form, names in out.items()}
