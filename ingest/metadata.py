"""Regulation metadata: history events and dates, level (效力级别), region, issuing office, status.

The metadata block of a file (the national database's front matter: title, office, publish, effective_date, type,
status) wins where present; otherwise everything is inferred from the text itself (title, the history paragraph
of the preamble, the last articles). Folder names are never used.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from corpus.errors import NoArticlesFound
from corpus.model import LEVELS, STATUSES, Article, Regulation
from corpus.numerals import cn_to_int
from corpus.titles import clean_title, normalize_title, strip_version_suffix
from ingest.structure import ParsedStructure, parse_structure

__all__ = ["build_regulation", "find_dates", "parse_history", "infer_office", "infer_level", "infer_region",
           "effective_date_from_articles", "NATIONAL_LEVELS"]

NATIONAL_LEVELS = ("宪法", "法律", "行政法规", "监察法规", "部门规章", "司法解释")

_Y = r"(\d{4}|[〇零○一二三四五六七八九]{4})"
_MD = r"(\d{1,2}|[一二三四五六七八九十]{1,3})"
DATE_RE = re.compile(rf"{_Y}\s*年\s*{_MD}\s*月\s*{_MD}\s*日")
_ISO_RE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})")
_BRACKETED_RE = re.compile(r"《[^《》]*(?:《[^《》]*》[^《》]*)*》|<[^<>]*>")
_VERBS = ("修正", "修订", "批准", "公布", "发布", "印发", "施行", "通过", "制定")
_EVENT_OF = {"印发": "发布", "制定": "通过"}


def _to_int(s: str) -> int:
    return int(s) if s.isdigit() else cn_to_int(s)


def _iso(y: str, m: str, d: str) -> str:
    try:
        yy, mm, dd = _to_int(y), _to_int(m), _to_int(d)
    except ValueError:
        return ""
    if not (1900 <= yy <= 2100 and 1 <= mm <= 12 and 1 <= dd <= 31):
        return ""
    return f"{yy:04d}-{mm:02d}-{dd:02d}"


def find_dates(text: str) -> list[tuple[str, int, int]]:
    """All dates written 2019年10月30日 or 二〇二一年一月一日: (ISO date, start, end)."""
    out = []
    for m in DATE_RE.finditer(text or ""):
        iso = _iso(*m.groups())
        if iso:
            out.append((iso, m.start(), m.end()))
    return out


def _meta_date(value: Any) -> str:
    m = _ISO_RE.search(str(value or ""))
    return _iso(*m.groups()) if m else ""


def _history_text(preamble: str) -> str:
    """The history part of a preamble: its lines before the 目录 (table of contents) or body text."""
    lines = []
    for line in (preamble or "").split("\n"):
        s = line.strip()
        if re.sub(r"\s", "", s) == "目录":
            break
        if lines and not DATE_RE.search(s) and len(s) > 60 and not s.startswith(("（", "(", "根据")):
            break  # a long paragraph without a date: the text itself (序言) has started
        lines.append(s)
    return " ".join(lines)


def parse_history(preamble: str) -> list[dict[str, str]]:
    """History events of a preamble: [{"event": "通过", "date": "2019-10-30", "by": "徐州市第十六届…会议"}, …].

    `根据2024年10月23日…会议通过，2024年11月28日…批准的《…决定》修正` is one amendment: the first date is the
    修正 (adopted by the amending body), the later one its 批准.
    """
    text = _history_text(preamble)
    dates = find_dates(text)
    segs = []
    for k, (iso, start, end) in enumerate(dates):
        stop = dates[k + 1][1] if k + 1 < len(dates) else len(text)
        seg = text[end:stop]
        lead = text[max(0, start - 4):start]
        bare = _BRACKETED_RE.sub("《》", seg)
        verbs = [(bare.find(v), v) for v in _VERBS if v in bare]
        verb = ""
        if "修改" in bare.replace("关于修改", "") and "修正" not in bare and "修订" not in bare:
            bare = bare.replace("修改", "修正")  # …县人民代表大会第二次会议修改
            verbs.append((bare.find("修正"), "修正"))
        if any(v in ("修正", "修订") for _, v in verbs):
            verb = "修正" if "修正" in bare else "修订"
            if "修订" in bare and "修正" in bare:
                verb = "修正" if bare.rfind("修正") > bare.rfind("修订") else "修订"
        elif "通过的《》" in bare or "批准的《》" in bare:
            verb = "修正"  # 刑法 preamble: …会议通过的《中华人民共和国刑法修正案（七）》
        elif verbs:
            verb = min(verbs)[1] if "批准" not in bare else "批准"
            if "公布" in bare or "发布" in bare or "印发" in bare:
                verb = next(v for v in ("公布", "发布", "印发") if v in bare)
            elif "施行" in bare and "通过" not in bare and "批准" not in bare:
                verb = "施行"
        verb = _EVENT_OF.get(verb, verb)
        by = seg
        cut = [bare.find(v) for v in _VERBS if v in bare]
        if "《》" in bare:
            cut.append(bare.find("《》") if bare.find("《》") > 0 else len(bare))
        if cut:
            # Map the cut in `bare` back to `seg`: same text up to the first bracket.
            first_bracket = bare.find("《》")
            pos = min(cut)
            by = seg[:pos] if first_bracket == -1 or pos <= first_bracket else seg[:first_bracket]
        by = re.sub(r"^[\s，,、经由在]+|[\s，,、（(）)的以和起]+$", "", by)
        by = re.sub(r"第[一二三四五六七八九十]+次$", "", by).rstrip()
        segs.append({"date": iso, "event": verb, "by": by[:80], "amend": "根据" in lead, "seg": seg})
    # A segment without a verb (…第1481次会议、2010年2月4日…会议通过) takes the next one's.
    for k in range(len(segs) - 2, -1, -1):
        if not segs[k]["event"]:
            segs[k]["event"] = segs[k + 1]["event"]
    # 根据 chains: the first date of the chain is the amendment, the rest keep their own verb (批准).
    k = 0
    while k < len(segs):
        if segs[k]["amend"]:
            j = k
            while j < len(segs) and segs[j]["event"] not in ("修正", "修订"):
                j += 1
            if j < len(segs) and j > k:
                final = segs[j]["event"]
                segs[k]["event"] = final
                for m in range(k + 1, j + 1):
                    if "批准" in _BRACKETED_RE.sub("《》", segs[m]["seg"]):
                        segs[m]["event"] = "批准"
                k = j + 1
                continue
        k += 1
    return [{"event": s["event"], "date": s["date"], "by": s["by"]} for s in segs if s["event"]]


# ----------------------------------------------------------------------------------------------------------------
# Office, level and region

_PLACE = r"(?:[\u4e00-\u9fff]{1,12}?(?:省|自治区|特别行政区|市|自治州|州|地区|盟|自治县|县|区|旗))"
_LOCAL_CONGRESS_RE = re.compile(rf"({_PLACE})(?:第[^届]{{1,4}}届)?(人民代表大会(?:常务委员会)?)")
_NATIONAL_CONGRESS_RE = re.compile(r"全国人民代表大会(常务委员会)?")
_GOV_RE = re.compile(rf"({_PLACE})人民政府")
_MINISTRY_RE = re.compile(r"((?:中华人民共和国)?[\u4e00-\u9fff]{2,20}?(?:部|委员会|总局|局|署|银行|办公厅|总署|院))令")


def infer_office(history: list[dict[str, str]], preamble: str = "") -> str:
    """The adopting or issuing body, from the first history event (徐州市人民代表大会常务委员会, 国务院, …)."""
    text = " ".join(h["by"] for h in history) + " " + (preamble or "")
    if "最高人民法院" in text and "最高人民检察院" in text and history and all(
            "最高人民" in h["by"] or not h["by"] for h in history[:2]):
        return "最高人民法院、最高人民检察院"
    for h in history or [{"by": preamble or "", "event": ""}]:
        by = h["by"].replace("人大常委会", "人民代表大会常务委员会")
        if not by:
            continue
        if "最高人民法院" in by:
            return "最高人民法院"
        if "最高人民检察院" in by:
            return "最高人民检察院"
        m = _NATIONAL_CONGRESS_RE.search(by)
        if m and not _LOCAL_CONGRESS_RE.search(by.replace("全国人民代表大会", "")):
            if "常务委员会" in by[m.start():m.end() + 6]:
                return "全国人民代表大会常务委员会"
            return "全国人民代表大会"
        m = _LOCAL_CONGRESS_RE.search(by)
        if m:
            return m.group(1) + m.group(2)
        if "国务院" in by and "中央军事委员会" in by:
            return "国务院、中央军事委员会"
        if "国务院" in by and "国务院关于" not in by:
            return "国务院"
        m = _GOV_RE.search(by)
        if m:
            return m.group(1) + "人民政府"
        m = _MINISTRY_RE.search(by)
        if m:
            return m.group(1).removeprefix("中华人民共和国")
        if "国家监察委员会" in by:
            return "国家监察委员会"
    return ""


def _office_of_title(title: str) -> str:
    """最高人民法院、最高人民检察院关于… / 国务院关于… / 全国人民代表大会常务委员会关于…: the issuer opens the title."""
    m = re.match(r"^(最高人民法院、最高人民检察院|最高人民法院|最高人民检察院|国务院|全国人民代表大会常务委员会|"
                 r"全国人民代表大会)(?:关于|、|$)", normalize_title(title))
    return m.group(1) if m else ""


_PROVINCES = ("北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽", "福建",
              "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西", "甘肃", "青海",
              "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港", "澳门")
_MUNICIPALITIES = ("北京", "天津", "上海", "重庆")
_AUTONOMOUS = {"内蒙古": "内蒙古自治区", "广西": "广西壮族自治区", "西藏": "西藏自治区", "宁夏": "宁夏回族自治区",
               "新疆": "新疆维吾尔自治区", "香港": "香港特别行政区", "澳门": "澳门特别行政区"}
_TITLE_PLACE_RE = re.compile(rf"^({_PLACE})")
_SEZ_RE = re.compile(r"^([\u4e00-\u9fff]{2})经济特区")


def _region_of_title(title: str) -> str:
    t = normalize_title(title)
    if t.startswith(("最高人民", "国务院", "全国人民")):
        return ""
    m = _SEZ_RE.match(t)
    if m:
        return m.group(1) + "市"
    for p in sorted(_PROVINCES, key=len, reverse=True):
        if t.startswith(p):
            if p in _AUTONOMOUS:
                return _AUTONOMOUS[p]
            rest = t[len(p):]
            if p in _MUNICIPALITIES:
                return p + "市"
            if rest.startswith("省"):
                return p + "省"
            return p + "省" if not rest.startswith(("市", "县")) else ""
    m = _TITLE_PLACE_RE.match(t)
    if m and len(m.group(1)) <= 8 and not m.group(1).endswith(("区", "旗")) or (m and "自治" in m.group(1)):
        return m.group(1)
    return ""


def infer_level(title: str, office: str, preamble: str = "") -> str:
    """效力级别 from issuer and title; "" when nothing is telling."""
    t = normalize_title(title)
    if t.startswith("宪法") or t == "宪法" or t.startswith("宪法修正案"):
        return "宪法"
    if t.startswith(("最高人民法院", "最高人民检察院")) or office.startswith(("最高人民法院", "最高人民检察院")):
        return "司法解释"
    if office in ("全国人民代表大会", "全国人民代表大会常务委员会"):
        return "法律"
    if office == "国家监察委员会":
        return "监察法规"
    if office.startswith("国务院") or "国务院令" in (preamble or ""):
        return "行政法规"
    if office.endswith(("人民代表大会常务委员会", "人民代表大会")):
        if "自治条例" in t or "单行条例" in t or (re.match(r"^[\u4e00-\u9fff]{2,12}(?:自治州|自治县|自治旗)", t)
                                                  and "自治" in office):
            return "自治条例和单行条例"
        return "地方性法规"
    if office.endswith("人民政府"):
        return "地方政府规章"
    if office and re.search(r"(?:部|委员会|总局|局|署|银行)$", office):
        return "部门规章"
    # Title only.
    place = _region_of_title(t)
    if place:
        return "地方性法规" if t.endswith("条例") else ""
    if t.endswith("法") or t.endswith("法修正案") or re.search(r"法修正案（[一二三四五六七八九十]+）$", t):
        return "法律"
    if t.endswith("条例"):
        return "行政法规"
    return ""


def infer_region(title: str, office: str, level: str) -> str:
    """全国 for national texts; else the province/city of the issuer or of the title."""
    if level in NATIONAL_LEVELS:
        return "全国"
    if office.startswith(("全国人民代表大会", "国务院", "最高人民")):
        return "全国"
    m = _LOCAL_CONGRESS_RE.search(office) or _GOV_RE.search(office)
    if m:
        return m.group(1)
    return _region_of_title(title)


# ----------------------------------------------------------------------------------------------------------------

_EFFECTIVE_RE = re.compile(rf"自\s*({DATE_RE.pattern})\s*(?:起)?\s*(?:施行|生效|实施)")
_EFFECTIVE_ON_PUBLISH_RE = re.compile(r"自(?:公布|发布|印发)之日起(?:施行|生效|实施)")


def effective_date_from_articles(articles: list[Article], publish_date: str = "") -> str:
    """`本条例自2020年12月1日起施行` in one of the last articles (or 自公布之日起施行 → the publication date)."""
    for a in reversed(articles[-4:]):
        m = _EFFECTIVE_RE.search(a.text)
        if m:
            d = find_dates(m.group(0))
            if d:
                return d[0][0]
        if _EFFECTIVE_ON_PUBLISH_RE.search(a.text) and publish_date:
            return publish_date
    return ""


def _attr(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def build_regulation(converted: Any, *, source_path: str, sha256: str) -> Regulation:
    """A converted file (ConvertedText) → a Regulation with articles, history, dates, level, region, office."""
    text = _attr(converted, "text", "") or ""
    meta = dict(_attr(converted, "metadata", {}) or {})
    meta_title = clean_title(str(meta.get("title") or ""))
    parsed: ParsedStructure = parse_structure(text, title_hint=meta_title)
    title = meta_title or clean_title(parsed.title)
    if not title:
        title = clean_title(strip_version_suffix(Path(source_path).stem))
        parsed.warnings.append("标题取自文件名")
    if not parsed.articles:
        raise NoArticlesFound("文件中没有找到法规正文", path=source_path,
                              detail="；".join(parsed.warnings[:3]))
    for a in parsed.articles:
        a.regulation_title = title

    history = parse_history(parsed.preamble)
    # 施行 stated in the body's last article (本条例自…起施行) when the preamble has no 施行 event.
    events = {h["event"] for h in history}
    office = str(meta.get("office") or "").strip() or infer_office(history, parsed.preamble) \
        or _office_of_title(title)

    def first(*evs: str) -> str:
        ds = sorted(h["date"] for h in history if h["event"] in evs)
        return ds[0] if ds else ""

    def last(*evs: str) -> str:
        ds = sorted(h["date"] for h in history if h["event"] in evs)
        return ds[-1] if ds else ""

    adopted = first("通过") or first("批准") or first("公布", "发布")
    publish = _meta_date(meta.get("publish")) or last("公布", "发布")
    amended = last("修正", "修订")
    effective = _meta_date(meta.get("effective_date"))
    first_effective = ""
    if not effective:
        pre_eff = last("施行") if "施行" in events else ""
        # 自公布之日起施行: the publication date; a national law is published (主席令) on the day it is adopted.
        on_publish = publish or (adopted if office.startswith("全国人民代表大会") and not amended else "")
        body_eff = effective_date_from_articles(parsed.articles, on_publish)
        # An amended text keeps its original 本法自…起施行 sentence: a later amendment's own 施行 wins.
        effective = max(pre_eff, body_eff) if pre_eff and body_eff else (pre_eff or body_eff)
        if amended and effective and effective < amended:
            # Every 施行 date the text states predates its latest 修正/修订: it is when the text first took effect,
            # not this version (whose date is set by the amending decision, which the text does not carry). Kept
            # as such; the version's own date stays unknown, so its validity starts at its version date.
            first_effective, effective = effective, ""
    version = _meta_date(meta.get("publish")) or last("通过", "批准", "修正", "修订", "公布", "发布")
    if not version:
        m = re.search(r"[（(](\d{4})[-.年](\d{1,2})[-.月](\d{1,2})日?[）)]\s*$", Path(source_path).stem)
        if m:
            version = _iso(*m.groups())
            parsed.warnings.append("版本日期取自文件名")

    level = str(meta.get("type") or "").strip()
    if level not in LEVELS:
        inferred = infer_level(title, office, parsed.preamble)
        level = level if level and not inferred else inferred
    region = infer_region(title, office, level)
    status = str(meta.get("status") or "").strip()
    if status and status not in STATUSES:
        parsed.warnings.append(f"未知的时效性：{status}")

    extra: dict[str, Any] = {}
    if first_effective:
        extra["first_effective_date"] = first_effective
    if parsed.toc:
        extra["toc"] = parsed.toc
    if parsed.appendix:
        extra["appendix"] = parsed.appendix
    if parsed.headings:
        extra["headings"] = parsed.headings
    if parsed.volume:
        # One file of a code split by 编 (民法典/合同编.md): same title and version date as its sibling files,
        # so (title, version_date) alone does not identify what this file holds.
        extra["volume"] = parsed.volume
    for k in ("pages", "ocr_pages"):
        v = _attr(converted, k)
        if v:
            extra[k] = v
    src_meta = {k: str(v) for k, v in meta.items() if k in ("id", "url", "type", "office", "publish",
                                                             "effective_date", "status")}
    if src_meta:
        extra["source_metadata"] = src_meta

    return Regulation(
        title=title, articles=parsed.articles, level=level, region=region, office=office,
        preamble=parsed.preamble, history=history, adopted_date=adopted, publish_date=publish,
        effective_date=effective, amended_date=amended, version_date=version, status=status,
        has_articles=parsed.has_articles, source_path=str(source_path),
        source_format=str(_attr(converted, "source_format", "") or Path(source_path).suffix.lstrip(".")),
        sha256=sha256, warnings=list(_attr(converted, "warnings", []) or []) + parsed.warnings, extra=extra)
