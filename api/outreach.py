"""普法责任清单 (谁执法谁普法): for one enforcing agency, the regulations it enforces and a card per key duty.

Built only from the indexed texts and their enforcement payload (ingest.enforcement): no wording is invented
about the law itself. A card says
  适用对象   who the duty binds (the words before 应当/不得… in the duty sentence, else the sanctioned party),
  应当做什么 the duty, quoted from its article,
  违反的后果 the sanctions of the penalty articles that punish it (kinds and fine range in plain words, and the
            sanction sentence quoted),
  依据       《title》第X条 with the quoted words — every quote is a verbatim substring of the article text.

Scope: the CURRENT versions of the regulations whose main enforcing agency (the version record's `agencies`) is
the agency — national ones, and with `region` also the region's province (read from the region's regulations:
批准 by 江苏省…人民代表大会常务委员会) and the region itself.

`build_outreach(rt, agency, region=None) -> dict`; `render_outreach(rt, agency, region=None, fmt="md"|"html"|
"docx"|"json")` → str (bytes for docx).
"""
from __future__ import annotations

import html
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

from corpus.errors import InvalidFilter, NotFound
from corpus.numerals import article_label
from corpus.regions import NATIONAL, province_of

CSS_FILE = Path(__file__).resolve().parent / "static" / "outreach.css"
FORMATS = ("md", "html", "docx", "json")
NOT_ENFORCED = ("司法解释",)  # courts' interpretations: no agency enforces them
MAX_DUTY_ONLY_CARDS = 12  # duty cards of a regulation that has no penalty article of its own

_DUTY_WORD = re.compile(r"应当|不得|必须|禁止|严禁|负有[^。；]{0,20}义务")
_SEGMENT = re.compile(r"[^。\n]+。?")
_GOVERNMENT = re.compile(r"人民政府|部门|机关|委员会|办事处|人民法院|人民检察院|^国家|^国务院|行政管理|主管")


# ---- scope ---------------------------------------------------------------------------------------------------
def canonical(agency: str) -> str:
    from ingest.enforcement.agencies import canonical_agency, find_agencies

    name = (agency or "").strip()
    if not name:
        raise InvalidFilter("请指定执法部门，例如 应急管理", detail="agency")
    return canonical_agency(name) or next(iter(find_agencies(name)), None) or name


def select_regulations(records: list[dict], agency: str, region: str | None) -> tuple[list[dict], list[str]]:
    """Current version records the agency enforces in scope, national first; and the regions covered."""
    regions = list(NATIONAL)
    if region:
        province = province_of(region, records)
        regions += [r for r in (province, region) if r and r not in regions]
    order = {r: i for i, r in enumerate(regions)}
    picked = [r for r in records if r.get("is_current") and agency in (r.get("agencies") or [])
              and (r.get("region") or "") in order and r.get("level") not in NOT_ENFORCED]
    # One record per regulation (an edition split into volumes keeps all of them).
    picked.sort(key=lambda r: (order[r.get("region") or ""], _level_rank(r.get("level")), r.get("title", ""),
                               r.get("version_id", "")))
    covered = ["全国"] + [r for r in regions if r not in NATIONAL]
    return picked, covered


def _level_rank(level: str | None) -> int:
    return {"法律": 0, "行政法规": 1, "部门规章": 2, "地方性法规": 3, "地方政府规章": 4}.get(level or "", 5)


# ---- text helpers --------------------------------------------------------------------------------------------
def segments(text: str) -> list[str]:
    """Sentences (to 。) of each line, verbatim."""
    return [m.group(0).strip() for m in _SEGMENT.finditer(text or "") if m.group(0).strip()]


def _bigrams(text: str) -> set[str]:
    t = re.sub(r"[\s，,；;。：:、“”《》（）()的了和或者及其未按照规定]", "", text or "")
    return {t[i:i + 2] for i in range(len(t) - 1)}


_ITEM = re.compile(r"^[（(][一二三四五六七八九十]+[）)]")


def duty_units(text: str) -> list[tuple[str, str | None]]:
    """(sentence, lead) pairs: every sentence verbatim; an item line of a 下列… list carries its lead line."""
    out: list[tuple[str, str | None]] = []
    lead = None
    for line in (text or "").split("\n"):
        line = line.strip()
        if not line:
            continue
        if _ITEM.match(line) and lead:
            out.append((line, lead))
            continue
        lead = line if re.search(r"(?:下列|以下)[^。]{0,8}[:：]\s*$", line) else None
        out += [(s, None) for s in segments(line)]
    return out


def best_segment(text: str, hint: str = "") -> tuple[str, str | None]:
    """The duty sentence of `text` that best restates `hint` (a punished conduct): (sentence, lead of its list)."""
    units = duty_units(text)
    if not units:
        return (text or "").strip(), None
    pool = [u for u in units if _DUTY_WORD.search(u[0]) or u[1]] or units
    if not hint:
        return pool[0]
    want = _bigrams(hint)
    return max(pool, key=lambda u: (len(want & _bigrams(u[0])) / (len(want) or 1), -pool.index(u)))


_SUBJECT_END = re.compile(r"(?:对[^。，]{0,20})?(?:负有|履行|负责|承担)[^。，]{0,12}下列|应当|不得|必须|禁止|严禁|负有|(?:履行|负责|承担)[^。，]{0,12}下列")


def duty_subject(sentence: str) -> str | None:
    m = _SUBJECT_END.search(sentence)
    if not m or m.start() == 0:
        return None
    head = re.sub(r"^[（(][一二三四五六七八九十]+[）)]", "", sentence[:m.start()]).strip("，,：: ")
    pieces = [x for x in re.split(r"[，,]", head) if x]
    if len(pieces) > 1:  # 因经济困难申请法律援助的，申请人: the last piece, unless it is a condition (…的)
        head = pieces[-1] if not pieces[-1].endswith("的") else pieces[0]
    return head if 1 < len(head) <= 30 else None


_PARTY = re.compile(r"(?:单位|者|人|人员|机构|组织|企业|律师|协会|所|户|主体|公司|工作者)$")


#: Duties of the authorities themselves (their officials answer with 处分): not the public's duties.
_AUTHORITY = re.compile(r"人民政府|部门|机关|办事处|管理委员会|派出机构|工作人员")
_OFFICIAL_ONLY = {"处分", "追究刑事责任"}


def for_public(subject: str | None, enf: dict, sline: str) -> bool:
    """A card for the people the agency regulates, not an internal duty of the authorities."""
    if subject and _AUTHORITY.search(subject):
        return False
    kinds = set(enf.get("sanction_kinds") or [])
    return not (kinds <= _OFFICIAL_ONLY and re.search(r"工作人员|人民政府|部门|机关", sline))


def _yuan(v: float | None) -> str:
    if v is None:
        return ""
    if v >= 10_000 and v % 10_000 == 0:
        return f"{int(v // 10_000)}万元"
    return f"{int(v)}元" if v == int(v) else f"{v}元"


_BASIS = {"illegal_gains": "违法所得", "goods_value": "货值金额", "annual_income": "上一年年收入",
          "fine_amount": "罚款数额"}


def fine_words(lo: float | None, hi: float | None, multiple: str = "") -> str:
    """罚款1万元至10万元 / 罚款最高20万元 / 罚款按违法所得的倍数或比例计算 (both when the article has both)."""
    fixed = ""
    if hi is not None and lo:
        fixed = f"罚款{_yuan(lo)}至{_yuan(hi)}"
    elif hi is not None:
        fixed = f"罚款最高{_yuan(hi)}"
    elif lo:
        fixed = f"罚款{_yuan(lo)}以上"
    by = f"按{multiple}的倍数或比例计算" if multiple else ""
    if fixed and by:
        return f"{fixed}，或{by}"
    return fixed or (f"罚款{by}" if by else "")


def plain_consequence(enf: dict) -> str:
    """责令改正、吊销许可证；罚款1万元至10万元 — from the extracted sanctions, in plain words."""
    sanctions = enf.get("sanctions") or []
    kinds = []
    for s in sanctions:
        if s.get("kind") != "罚款" and s.get("kind") not in kinds:
            kinds.append(s["kind"])
    fine = ""
    if any(s.get("kind") == "罚款" for s in sanctions):
        bases = [_BASIS.get(s["basis"], "有关金额") for s in sanctions if s.get("kind") == "罚款" and s.get("basis")]
        fine = fine_words(enf.get("fine_min"), enf.get("fine_max"), "、".join(dict.fromkeys(bases))) or "罚款"
    return "；".join(p for p in ("、".join(kinds), fine) if p)


def sanction_line(text: str, enf: dict) -> str:
    """The line of the penalty article that states its sanctions (verbatim)."""
    lines = [ln.strip() for ln in (text or "").split("\n") if ln.strip()]
    words = [s.get("text") for s in enf.get("sanctions") or [] if s.get("text")]
    for ln in lines:
        if any(w in ln for w in words):
            return ln
    return lines[0] if lines else ""


def _item_line(text: str, item_no: int | None) -> str | None:
    if not item_no:
        return None
    lines = [ln.strip() for ln in (text or "").split("\n") if ln.strip()]
    items = [ln for ln in lines if re.match(r"^[（(][一二三四五六七八九十]+[）)]", ln)]
    return items[item_no - 1] if 0 < item_no <= len(items) else None


# ---- cards ---------------------------------------------------------------------------------------------------
def _articles(rt, version_id: str) -> dict[str, dict]:
    """第X条 → merged payload (parts joined) of one version."""
    out: dict[str, dict] = {}
    for h in rt.index.version_articles(version_id):
        p = h.payload
        if p.get("kind", "article") != "article":
            continue
        label = article_label(p.get("article_no", 0), p.get("article_suffix") or "")
        if label in out:
            out[label]["text"] += "\n" + p.get("text", "")
        else:
            out[label] = dict(p, text=p.get("text", ""), label=label)
    return out


def _quote(title: str, label: str, text: str) -> dict:
    return {"title": title, "label": label, "quote": text}


def regulation_cards(title: str, arts: dict[str, dict], agency: str) -> list[dict]:
    """Cards of one regulation: one per duty article punished by a penalty the agency imposes (penalties that name
    no duty get a card of their own); without such penalties, the regulation's duty sentences for the regulated."""
    cards: dict[str, dict] = {}
    order: list[str] = []
    for label, p in arts.items():
        enf = p.get("enforcement") or {}
        if not (enf.get("is_penalty") and enf.get("sanctions")):
            continue
        if agency not in (enf.get("enforcing_agencies") or []):
            continue
        sline = sanction_line(p["text"], enf)
        consequence = {"label": label, "plain": plain_consequence(enf), "fine_min": enf.get("fine_min"),
                       "fine_max": enf.get("fine_max"), "sanctions": list(enf.get("sanction_kinds") or []),
                       "quote": sline}
        parties = []
        for s in enf.get("sanctions") or []:
            if s.get("party_group") and s["party_group"] not in parties:
                parties.append(s["party_group"])
        details = [d for d in enf.get("penalizes_detail") or [] if d.get("article") in arts
                   and d.get("article") != label]
        if not details:
            conduct = next((c for c in enf.get("conduct") or [] if c and c in p["text"]), None)
            if (not conduct or len(conduct) < 6 or re.match(r"^(?:本(?:法|条例|规定|办法)|构成犯罪)", conduct)
                    or "行政处罚" in conduct):
                continue  # not a conduct (本法规定的行政处罚，由…决定; 构成犯罪的)
            if not for_public(None, enf, sline):
                continue
            key = f"penalty:{label}"
            order.append(key)
            basis = [_quote(title, label, conduct)] if conduct else []
            basis.append(_quote(title, label, sline))
            cards[key] = {"subject": "、".join(parties) or None, "duty": None,
                          "avoid": conduct, "consequences": [consequence], "basis": basis,
                          "articles": [label]}
            continue
        for d in details:
            duty_label = d["article"]
            item = _item_line(p["text"], d.get("item_no"))
            hint = item or next(iter(enf.get("conduct") or []), "")
            sentence, lead = best_segment(arts[duty_label]["text"], hint)
            key = f"{duty_label}|{sentence}"
            card = cards.get(key)
            subject = duty_subject(lead or sentence) or ("、".join(parties) or None)
            if card is None and not for_public(subject, enf, sline):
                continue
            if card is None:
                order.append(key)
                basis = ([_quote(title, duty_label, lead)] if lead else []) + [_quote(title, duty_label, sentence)]
                card = cards[key] = {
                    "subject": subject,
                    "duty": f"{lead}{sentence}" if lead else sentence,
                    "avoid": None, "consequences": [], "basis": basis, "articles": [duty_label]}
            if all(c["label"] != label for c in card["consequences"]):
                card["consequences"].append(consequence)
                if item:
                    card["basis"].append(_quote(title, label, item))
                card["basis"].append(_quote(title, label, sline))
                card["articles"].append(label)
    if cards:
        from search.linking import parse_label

        def sort_key(k: str) -> tuple:
            parsed = parse_label(k.split("|")[0].split(":")[-1]) or (0, "")
            return (parsed[0], parsed[1], k.startswith("penalty:"))

        return [cards[k] for k in sorted(order, key=sort_key)]  # stable: article order, then first seen
    return duty_only_cards(title, arts)


def duty_only_cards(title: str, arts: dict[str, dict]) -> list[dict]:
    """A regulation without penalty articles of its own: its duty sentences for the regulated (not the
    government's own tasks), and the article that says which penalties apply (违反本条例…依照其规定)."""
    bridge = None
    for label, p in arts.items():
        for s in segments(p["text"]):
            if re.search(r"违反本(?:法|条例|规定|办法)", s) and re.search(r"依照|适用|按照", s):
                bridge = (label, s)
                break
        if bridge:
            break
    cards = []
    for label, p in arts.items():
        if any("附则" in h or "总则" in h for h in p.get("headings") or []):
            continue
        for s in segments(p["text"]):
            if not re.search(r"应当|不得|必须|禁止|严禁", s):
                continue
            subject = duty_subject(s)
            if (not subject or _GOVERNMENT.search(subject) or _AUTHORITY.search(subject)
                    or not _PARTY.search(subject)):
                continue
            basis = [_quote(title, label, s)]
            items = [u for u, lead in duty_units(p["text"]) if lead == s]  # 履行下列责任：（一）…（二）…
            basis += [_quote(title, label, i) for i in items]
            consequence = []
            if bridge:
                consequence.append({"label": bridge[0], "plain": "依照有关法律、法规的处罚规定处理",
                                    "fine_min": None, "fine_max": None, "sanctions": [], "quote": bridge[1]})
                basis.append(_quote(title, bridge[0], bridge[1]))
            cards.append({"subject": subject, "duty": s + "".join(items), "avoid": None, "consequences": consequence,
                          "basis": basis, "articles": [label] + ([bridge[0]] if bridge else [])})
            break  # one card per article
        if len(cards) >= MAX_DUTY_ONLY_CARDS:
            break
    return cards


def build_outreach(rt, agency: str, *, region: str | None = None) -> dict[str, Any]:
    """The 普法责任清单 as data: {agency, region, regions, regulations: [{title, region, level, version_date,
    version_id, effective_date, cards: [...]}]}."""
    name = canonical(agency)
    region = (region or "").strip() or None
    records = rt.index.version_records()
    picked, covered = select_regulations(records, name, region)
    if not picked:
        raise NotFound(f"未找到由“{agency}”执法的现行法规", detail=f"{agency} {region or ''}".strip())
    regs = []
    for rec in picked:
        arts = _articles(rt, rec["version_id"])
        regs.append({"title": rec.get("title"), "region": rec.get("region") or "全国", "level": rec.get("level"),
                     "version_date": rec.get("version_date"), "effective_date": rec.get("effective_date"),
                     "version_id": rec.get("version_id"), "cards": regulation_cards(rec.get("title", ""), arts, name)})
    return {"agency": name, "region": region, "regions": covered, "regulations": regs}


# ---- rendering -----------------------------------------------------------------------------------------------
def _heading(doc: dict) -> str:
    return f"{doc['region'] or ''}{doc['agency']}部门普法责任清单"


def _scope_line(doc: dict) -> str:
    return f"范围：{'、'.join(doc['regions'])}现行有效的法规，共 {len(doc['regulations'])} 部"


def _version_line(reg: dict) -> str:
    bits = [reg.get("level") or "", reg.get("region") or ""]
    if reg.get("version_date"):
        bits.append(f"版本 {reg['version_date']}")
    if reg.get("effective_date"):
        bits.append(f"施行 {reg['effective_date']}")
    return " · ".join(b for b in bits if b)


def card_fields(card: dict) -> list[tuple[str, str]]:
    """(label, plain text) rows of a card, in reading order; 依据 rows come separately."""
    rows = [("适用对象", card.get("subject") or "见条文")]
    if card.get("duty"):
        rows.append(("应当做什么", card["duty"]))
    elif card.get("avoid"):
        rows.append(("应当做什么", f"不得有此行为：{card['avoid']}"))
    if card.get("consequences"):
        rows.append(("违反的后果", "；".join(f"{c['plain'] or '见条文'}（{c['label']}）" for c in card["consequences"])))
    else:
        rows.append(("违反的后果", "本法规未规定相应罚则"))
    return rows


def to_markdown(doc: dict) -> str:
    out = [f"# {_heading(doc)}", "", _scope_line(doc), ""]
    for reg in doc["regulations"]:
        out += [f"## 《{reg['title']}》", "", _version_line(reg), ""]
        if not reg["cards"]:
            out += ["（未找到可整理的义务条款）", ""]
        for i, card in enumerate(reg["cards"], 1):
            out.append(f"### {i}. {'、'.join(card['articles'][:1])}")
            out.append("")
            for k, v in card_fields(card):
                out.append(f"- **{k}**：{v}")
            out.append("- **依据**：")
            for q in card["basis"]:
                out.append(f"  - 《{q['title']}》{q['label']}：“{q['quote']}”")
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def to_html(doc: dict, *, css_href: str | None = None) -> str:
    e = html.escape
    style = (f'<link rel="stylesheet" href="{e(css_href)}">' if css_href
             else f"<style>{CSS_FILE.read_text(encoding='utf-8')}</style>")
    parts = ["<!doctype html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
             f"<title>{e(_heading(doc))}</title>", style, "</head><body class=\"outreach\">",
             f"<h1>{e(_heading(doc))}</h1>", f'<p class="scope">{e(_scope_line(doc))}</p>']
    for reg in doc["regulations"]:
        parts.append(f'<section class="regulation"><h2>《{e(reg["title"])}》</h2>'
                     f'<p class="version">{e(_version_line(reg))}</p>')
        if not reg["cards"]:
            parts.append("<p>（未找到可整理的义务条款）</p>")
        for i, card in enumerate(reg["cards"], 1):
            parts.append(f'<article class="card"><h3>{i}. {e("、".join(card["articles"][:1]))}</h3><dl>')
            for k, v in card_fields(card):
                parts.append(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>")
            parts.append("<dt>依据</dt><dd><ul>")
            for q in card["basis"]:
                parts.append(f'<li>《{e(q["title"])}》{e(q["label"])}：<q>{e(q["quote"])}</q></li>')
            parts.append("</ul></dd></dl></article>")
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _para(text: str, style: str | None = None, bold: bool = False) -> str:
    ppr = f'<w:pPr><w:pStyle w:val="{style}"/></w:pPr>' if style else ""
    rpr = "<w:rPr><w:b/></w:rPr>" if bold else ""
    return f'<w:p>{ppr}<w:r>{rpr}<w:t xml:space="preserve">{html.escape(text, quote=False)}</w:t></w:r></w:p>'


def to_docx(doc: dict) -> bytes:
    """A minimal valid DOCX (WordprocessingML in a zip): headings as styled paragraphs, cards as paragraphs."""
    body = [_para(_heading(doc), "Title"), _para(_scope_line(doc))]
    for reg in doc["regulations"]:
        body += [_para(f"《{reg['title']}》", "Heading1"), _para(_version_line(reg))]
        for i, card in enumerate(reg["cards"], 1):
            body.append(_para(f"{i}. {'、'.join(card['articles'][:1])}", "Heading2"))
            for k, v in card_fields(card):
                body.append(_para(f"{k}：{v}"))
            body.append(_para("依据：", bold=True))
            for q in card["basis"]:
                body.append(_para(f"《{q['title']}》{q['label']}：“{q['quote']}”"))
    document = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w="{_W}"><w:body>'
                + "".join(body) + '<w:sectPr><w:pgSz w:w="11906" w:h="16838"/></w:sectPr></w:body></w:document>')
    styles = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:styles xmlns:w="{_W}">'
              + "".join(f'<w:style w:type="paragraph" w:styleId="{sid}"><w:name w:val="{name}"/>'
                        f'<w:pPr><w:outlineLvl w:val="{lvl}"/></w:pPr><w:rPr><w:b/><w:sz w:val="{size}"/></w:rPr>'
                        f'</w:style>' for sid, name, lvl, size in (("Title", "Title", 0, 36),
                                                                   ("Heading1", "heading 1", 0, 32),
                                                                   ("Heading2", "heading 2", 1, 26)))
              + "</w:styles>")
    content_types = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                     '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                     '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                     '<Default Extension="xml" ContentType="application/xml"/>'
                     '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
                     'officedocument.wordprocessingml.document.main+xml"/>'
                     '<Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-'
                     'officedocument.wordprocessingml.styles+xml"/></Types>')
    rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'officeDocument" Target="word/document.xml"/></Relationships>')
    doc_rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
                'styles" Target="styles.xml"/></Relationships>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", content_types)
        z.writestr("_rels/.rels", rels)
        z.writestr("word/document.xml", document)
        z.writestr("word/styles.xml", styles)
        z.writestr("word/_rels/document.xml.rels", doc_rels)
    return buf.getvalue()


def render_outreach(rt, agency: str, *, region: str | None = None, fmt: str = "md",
                    css_href: str | None = None) -> str | bytes:
    if fmt not in FORMATS:
        raise InvalidFilter("格式应为 md、html、docx 或 json", detail=str(fmt))
    doc = build_outreach(rt, agency, region=region)
    if fmt == "json":
        return json.dumps(doc, ensure_ascii=False, indent=2)
    if fmt == "html":
        return to_html(doc, css_href=css_href)
    if fmt == "docx":
        return to_docx(doc)
    return to_markdown(doc)


__all__ = ["build_outreach", "render_outreach", "to_markdown", "to_html", "to_docx", "province_of",
           "select_regulations", "regulation_cards", "FORMATS"]
