"""Regulation titles: one normal form for matching, and the short names people use."""
from __future__ import annotations

import re
from collections.abc import Iterable

PRC_PREFIX = "中华人民共和国"
_SPACES = re.compile(r"[\s\u3000\u00a0]+")


def normalize_title(title: str) -> str:
    """The matching key of a title: no 中华人民共和国 prefix, no 《》 or spaces, full-width brackets.

    Same rule as the reference scorer in ../shared/eval, so run files and qrels compare equal.
    """
    t = (title or "").replace("(", "（").replace(")", "）")
    t = _SPACES.sub("", t).replace("《", "").replace("》", "").replace("〈", "").replace("〉", "")
    return t.replace(PRC_PREFIX, "").strip()


def clean_title(title: str) -> str:
    """A display title: spaces and 《》 removed, brackets full-width, the 中华人民共和国 prefix kept."""
    t = (title or "").replace("(", "（").replace(")", "）")
    t = _SPACES.sub("", t).strip("《》")
    return t


_VERSION_SUFFIX = re.compile(r"[（(]\s*(\d{4})[-.年]\d{1,2}[-.月]\d{1,2}日?\s*[）)]$")


def strip_version_suffix(name: str) -> str:
    """`农产品质量安全法(2018-10-26)` → `农产品质量安全法` (file names of dated versions)."""
    return _VERSION_SUFFIX.sub("", name).strip()


def short_title(title: str) -> str:
    """The name people say: 中华人民共和国安全生产法 → 安全生产法; other titles stay as they are."""
    t = clean_title(title)
    if t.startswith(PRC_PREFIX) and len(t) > len(PRC_PREFIX) + 1:
        return t[len(PRC_PREFIX):]
    return t


def title_aliases(title: str) -> set[str]:
    """Keys under which a citation may name this regulation (normalised).

    安全生产法 for the national law; 安全生产条例 as a tail of 徐州市安全生产条例; 劳动合同法 also as 劳动合同法.
    Callers resolve ambiguity (several regulations sharing an alias) themselves.
    """
    key = normalize_title(title)
    out = {key}
    # Drop a leading place name (…省/…市/…自治区/…县/…区) so 安全生产条例 finds local texts too.
    m = re.match(r"^(.{1,12}?(?:省|自治区|市|自治州|县|区))(.{3,})$", key)
    if m and not key.startswith("最高人民"):
        out.add(m.group(2))
    # 关于…的决定/规定 titles have no useful short form; others may drop a 暂行/试行 marker.
    out.add(key.replace("（试行）", "").replace("（暂行）", ""))
    return {a for a in out if len(a) >= 3}


def records_named(records: Iterable[dict], key: str) -> list[dict]:
    """The version records a normalised written title names: its exact title key, else an alias (安全生产条例 → the
    local texts), else a title ending in it (at least 4 characters). The same records, not copies."""
    records = list(records)
    for pick in (lambda r: r.get("title_key") == key, lambda r: key in (r.get("aliases") or []),
                 lambda r: len(key) >= 4 and r.get("title_key", "").endswith(key)):
        found = [r for r in records if pick(r)]
        if found:
            return found
    return []
