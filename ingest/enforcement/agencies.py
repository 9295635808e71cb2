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
_DEPT_SUFFIX = r"(?:行政)?(?:主管|管理)?(?:部门|机关|机构|委员会|局|厅|部(?![分门位署]))"


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
def _matcher() -> tuple[re.Pattern[str], dict[str, tuple[str, bool, bool]]]:
    """One alternation of every written form, longest first; and group-name → (canonical, older, group)."""
    forms: list[tuple[str, str, str, bool, bool, int]] = []  # (regex, group id, canonical, older, group, length)
    for i, a in enumerate(load_agencies()):
        for j, w in enumerate(a.get("groups", [])):
            forms.append((re.escape(w), f"g{i}_{j}", a["name"], False, True, len(w)))
        for j, w in enumerate(a.get("aliases", [])):
            forms.append((re.escape(w), f"a{i}_{j}", a["name"], False, False, len(w)))
        for j, w in enumerate(a.get("older", [])):
            forms.append((re.escape(w), f"o{i}_{j}", a["name"], True, False, len(w)))
        for j, w in enumerate(a.get("cores", [])):
            forms.append((re.escape(w) + _DEPT_SUFFIX, f"c{i}_{j}", a["name"], False, False, len(w) + 4))
        for j, w in enumerate(a.get("older_cores", [])):
            forms.append((re.escape(w) + _DEPT_SUFFIX, f"k{i}_{j}", a["name"], True, False, len(w) + 4))
    # At one start position the first alternative that matches wins: longer forms first (a core counts as core plus
    # a typical suffix, so 公安机关消防机构 beats 公安 + 机关).
    forms.sort(key=lambda f: -f[5])
    pattern = re.compile("|".join(f"(?P<{f[1]}>{f[0]})" for f in forms))
    info = {f[1]: (f[2], f[3], f[4]) for f in forms}
    return pattern, info


_ABBREV = re.compile(r"[（(]以下(?:简|统)称[“「]?(?P<short>[^）)”」，,]{2,16})[”」]?[）)]")


def local_aliases(text: str) -> dict[str, str]:
    """Abbreviations a text defines for an agency: 市容和环境卫生行政管理部门（以下简称市容环卫部门）."""
    out: dict[str, str] = {}
    for m in _ABBREV.finditer(text or ""):
        before = _mentions(text[max(0, m.start() - 40):m.start()], {})
        if before and before[-1].span[1] == min(40, m.start()):
            out[m.group("short")] = before[-1].name
    return out


@lru_cache(maxsize=1)
def _first_chars() -> frozenset[str]:
    chars = set()
    for a in load_agencies():
        for key in ("cores", "older_cores", "aliases", "older", "groups"):
            chars.update(w[0] for w in a.get(key, []) if w)
    return frozenset(chars)


def _mentions(text: str, extra: dict[str, str]) -> list[AgencyMention]:
    pattern, info = _matcher()
    first = _first_chars()
    out = []
    text = text or ""
    i, n = 0, len(text)
    # Same result as pattern.finditer (leftmost, non-overlapping), but the alternation is only tried where a name
    # can start: about 40 times faster on ordinary text.
    while i < n:
        if text[i] not in first:
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
