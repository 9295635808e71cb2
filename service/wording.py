"""The retrieval in use, said in Chinese for people (the page's footer, the command line).

`Runtime.retrieval_description` and a search result's `mode` stay in their English form for programs and logs
("sparse: BM25 (bigram); dense: offline static word vectors (trained)"); `retrieval_words` turns either into
Chinese with the patterns of `service/data/retrieval.json`. A part no pattern knows is kept as it is.
"""
from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

WORDING = Path(__file__).resolve().parent / "data" / "retrieval.json"
CITATION = "citation"


@cache
def _wording() -> dict:
    data = json.loads(WORDING.read_text(encoding="utf-8"))
    data["compiled"] = [(re.compile(p), t) for p, t in data["parts"]]
    return data


def _part(text: str) -> str:
    w = _wording()
    for pattern, template in w["compiled"]:
        m = pattern.match(text)
        if m:
            groups = ["+".join(w["sparse"].get(x, x) for x in g.split("+")) for g in m.groups()]
            return template.format(None, *groups)
    return text


def retrieval_words(description: str) -> str:
    """'sparse: BM25 (bigram); dense: …' → '关键词检索（BM25，汉字二元切分）；…'; 'citation+…' says the citation first."""
    w = _wording()
    text = str(description or "").strip()
    if text.startswith(CITATION + "+"):
        return w["citation_then"].format(citation=_part(CITATION), rest=retrieval_words(text[len(CITATION) + 1:]))
    return w["separator"].join(_part(p.strip()) for p in text.split(";") if p.strip())


__all__ = ["retrieval_words"]
