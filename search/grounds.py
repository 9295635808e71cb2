"""What an answer reads in a quoted provision besides its words: its modality (不得 → 不可以), the agency a penalty
names (由…部门), whether it tells a person where to turn (投诉/举报/申请…), and whether it is a lead-in (…下列…：).

Pure functions over text; every piece they return is an exact substring of the text they were given, so the answer
composer can quote it with the provision's citation. The word lists are `data/modality.tsv` and
`data/recourse_words.txt`.
"""
from __future__ import annotations

import re
from functools import lru_cache

from search.words import DATA_DIR, data_lines, word_pattern

LEAD_IN_ENDS = ("：", ":")
#: The agency a penalty names: 由县级以上人民政府应急管理部门责令… → 县级以上人民政府应急管理部门.
_AGENCY = re.compile(r"由(?P<agency>[^，。；：、“”（）()]{2,40}?(?:部门|机关|机构|委员会|管理局|局|厅|政府|办公室|中心))"
                     r"(?:[^，。；：]{0,6})?(?:责令|给予|处|依法|没收|吊销|予以|按照|依照|决定|对)")
#: A provision giving an agency its remit: …应急管理部门对本行政区域内安全生产工作实施综合监督管理.
_SUPERVISES = re.compile(r"监督管理|主管|负责|执法|查处|监督检查")
#: A sentence that offers the person a route (有权…举报, 可以向…投诉, 可以申请…).
_OFFER = re.compile(r"有权|可以向|可以依法|可以申请|可以提起|可以请求|可以通过|受理|应当及时处理|应当依法处理")


def sentences(text: str, ends: str = "。；") -> list[str]:
    """The sentences of `text` (each with its end mark), stripped, in order; every one a substring of `text`."""
    out, cur = [], ""
    for ch in text:
        cur += ch
        if ch in ends:
            out.append(cur)
            cur = ""
    if cur.strip():
        out.append(cur)
    return [s.strip() for s in out if s.strip()]


def is_lead_in(text: str) -> bool:
    """A provision that introduces a list (…有下列情形之一的：): quoted alone it says nothing."""
    return text.rstrip().endswith(LEAD_IN_ENDS)


@lru_cache(maxsize=1)
def modal_words() -> tuple[tuple[str, str], ...]:
    """(modal word, conclusion) in priority order, from data/modality.tsv."""
    out = []
    for line in data_lines(DATA_DIR / "modality.tsv"):
        word, _, label = line.partition("\t")
        if word.strip() and label.strip():
            out.append((word.strip(), label.strip()))
    return tuple(out)


def modality(sentence: str) -> tuple[str, str] | None:
    """(modal word, conclusion) of a sentence: 不得/禁止 → 不可以, 应当/必须 → 必须, 可以/有权 → 可以; None without one."""
    for word, label in modal_words():
        if word in sentence:
            return word, label
    return None


def agency_phrase(text: str) -> str | None:
    """The agency a penalty provision names as the one that imposes it (由…部门责令/处…), verbatim; else None."""
    m = _AGENCY.search(text)
    return m.group("agency") if m else None


def remit_sentence(text: str, agency: str) -> str | None:
    """The sentence of `text` that gives `agency` (an agency name as ingest extracted it: 应急管理, 公安) its remit
    (…部门负责/实施监督管理/查处 …), verbatim; else None."""
    for sent in sentences(text):
        if agency in sent and _SUPERVISES.search(sent[sent.index(agency):]):
            return sent
    return None


def is_recourse(text: str) -> bool:
    """A provision telling a person where to turn: it names a route (投诉, 举报, 申请行政复议 …) and offers it (有权,
    可以向 …) or obliges someone to receive it (受理)."""
    return bool(word_pattern("recourse_words").search(text)) and bool(_OFFER.search(text))


__all__ = ["LEAD_IN_ENDS", "agency_phrase", "is_lead_in", "is_recourse", "modal_words", "modality", "remit_sentence", "sentences"]
