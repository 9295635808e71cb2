"""Which parser produced an indexed version. Raise PARSER_VERSION whenever a change to conversion, parsing or
metadata alters what is stored for an unchanged file (articles, 款/项/目, dates, level, region): the next ingest then
parses every file again instead of skipping it as unchanged (by content hash), so an index never keeps what an older
parser got wrong. Kept apart from the pipeline so that checking it imports nothing heavy."""
from __future__ import annotations

#: 2: 目 kept inside their 项 across article parts; an amended text's first 施行 date no longer taken as its own.
PARSER_VERSION = 2


def parsed_by_current(record: dict | None) -> bool:
    """Whether an indexed version record was written by this parser (records from before versioning count as 1)."""
    return bool(record) and int(record.get("parser_version") or 1) == PARSER_VERSION


__all__ = ["PARSER_VERSION", "parsed_by_current"]
