"""Which regulations a written title names: the one rule the index and the search's title book share."""
from __future__ import annotations

from corpus.titles import records_named

RECORDS = [
    {"title_key": "安全生产法", "aliases": ["安全生产法"]},
    {"title_key": "徐州市安全生产条例", "aliases": ["徐州市安全生产条例", "安全生产条例"]},
    {"title_key": "江苏省安全生产条例", "aliases": ["江苏省安全生产条例", "安全生产条例"]},
]


def test_exact_title_first_then_alias_then_a_title_ending_in_it():
    assert records_named(RECORDS, "安全生产法") == [RECORDS[0]]  # exact, though other titles share words
    assert records_named(RECORDS, "安全生产条例") == RECORDS[1:]  # an alias shared: both, the caller decides
    assert records_named(RECORDS, "省安全生产条例") == [RECORDS[2]]  # a tail of one title
    assert records_named(RECORDS, "条例") == []  # a tail shorter than 4 characters names nothing
    assert records_named(RECORDS, "劳动合同法") == []
    assert records_named(RECORDS, "安全生产法")[0] is RECORDS[0]  # the records themselves, not copies
