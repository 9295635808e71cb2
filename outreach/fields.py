"""The fields a published 普法责任清单 carries besides its cards: 责任单位, 普法内容 (the laws and articles), 普法对象,
普法方式, 重要时间节点, 完成标准.

Defaults come from outreach/data/list_fields.json (per agency, then 'default'); an admin overrides any field for one
agency and region, kept in <data_dir>/outreach_fields.json (`FieldStore`, written atomically under
`outreach_fields.json.lock`, which the server's worker processes share). 普法内容 is always computed from the list's
cards, never stored.
"""
from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from corpus.errors import InvalidFilter, LawSearchError
from corpus.locking import FileLock
from corpus.numerals import parse_label

DEFAULTS_FILE = Path(__file__).resolve().parent / "data" / "list_fields.json"
STORE_NAME = "outreach_fields.json"
#: field → label, in the order the list shows them; 普法内容 (content) is computed.
LABELS = {"responsible_unit": "责任单位", "content": "普法内容", "audience": "普法对象", "methods": "普法方式",
          "key_dates": "重要时间节点", "completion_standard": "完成标准"}
EDITABLE = ("responsible_unit", "audience", "methods", "key_dates", "completion_standard")
MAX_TEXT = 500
MAX_ITEMS = 20


@lru_cache(maxsize=1)
def _defaults() -> dict[str, Any]:
    return json.loads(DEFAULTS_FILE.read_text(encoding="utf-8"))


def default_fields(agency: str, region: str | None) -> dict[str, Any]:
    """The data file's fields for an agency ({region}/{agency} filled in)."""
    data = _defaults()
    fields = {**data["default"], **data.get("agencies", {}).get(agency, {})}
    return {k: _fill(v, agency, region or "") for k, v in fields.items() if k in EDITABLE}


def _fill(value: Any, agency: str, region: str) -> Any:
    if isinstance(value, str):
        return value.replace("{region}", region).replace("{agency}", agency)
    if isinstance(value, list):
        return [_fill(v, agency, region) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, agency, region) for k, v in value.items()}
    return value


def validate(fields: Any) -> dict[str, Any]:
    """An admin's edit, checked field by field; a clear Chinese error names the field and what is wrong."""
    if not isinstance(fields, dict):
        raise InvalidFilter("fields 应为对象，例如 {\"audience\": \"…\"}", detail="fields")
    out: dict[str, Any] = {}
    for key, value in fields.items():
        where = f"fields.{key}"
        if key not in EDITABLE:
            raise InvalidFilter(f"不能修改字段 {key}，可修改：{'、'.join(EDITABLE)}", detail=where)
        if key == "methods":
            if not (isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)):
                raise InvalidFilter("普法方式应为非空文字的列表", detail=where)
            if len(value) > MAX_ITEMS or any(len(v) > MAX_TEXT for v in value):
                raise InvalidFilter(f"普法方式最多 {MAX_ITEMS} 项，每项不超过 {MAX_TEXT} 字", detail=where)
            out[key] = [v.strip() for v in value]
        elif key == "key_dates":
            ok = isinstance(value, list) and all(
                isinstance(v, dict) and set(v) == {"date", "name"} and all(isinstance(x, str) and x.strip()
                                                                         for x in v.values()) for v in value)
            if not ok:
                raise InvalidFilter("重要时间节点应为列表，每项包含 date 和 name 两个文字字段，"
                                    "例如 {\"date\": \"6月\", \"name\": \"安全生产月\"}", detail=where)
            if len(value) > MAX_ITEMS:
                raise InvalidFilter(f"重要时间节点最多 {MAX_ITEMS} 项", detail=where)
            out[key] = [{"date": v["date"].strip(), "name": v["name"].strip()} for v in value]
        else:
            if not (isinstance(value, str) and value.strip()):
                raise InvalidFilter(f"{LABELS[key]}应为非空文字", detail=where)
            if len(value) > MAX_TEXT:
                raise InvalidFilter(f"{LABELS[key]}不超过 {MAX_TEXT} 字", detail=where)
            out[key] = value.strip()
    return out


class FieldStore:
    """Admins' overrides of the list fields, per agency and region, in one JSON file of the data directory."""

    def __init__(self, data_dir: Path | str):
        self.path = Path(data_dir) / STORE_NAME
        # an flock, not only a thread lock: the API makes a store per request, and server workers are processes
        self._lock = FileLock(self.path)

    @staticmethod
    def key(agency: str, region: str | None) -> str:
        return f"{agency}|{region or ''}"

    def _read(self) -> dict[str, dict]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise LawSearchError("普法清单字段文件无法读取", detail=str(exc), path=str(self.path),
                                 code="outreach_fields_unreadable") from exc
        return data if isinstance(data, dict) else {}

    def get(self, agency: str, region: str | None) -> dict[str, Any]:
        return dict(self._read().get(self.key(agency, region)) or {})

    def put(self, agency: str, region: str | None, fields: dict[str, Any]) -> dict[str, Any]:
        """Merge validated `fields` into the stored overrides of (agency, region); returns them."""
        checked = validate(fields)
        with self._lock:
            data = self._read()
            current = {**(data.get(self.key(agency, region)) or {}), **checked}
            data[self.key(agency, region)] = current
            self._write(data)
        return current

    def reset(self, agency: str, region: str | None) -> None:
        """Back to the data file's defaults for (agency, region)."""
        with self._lock:
            data = self._read()
            if data.pop(self.key(agency, region), None) is not None:
                self._write(data)

    def _write(self, data: dict[str, dict]) -> None:
        """Replace the file atomically; the caller holds the lock (the temporary file's name is shared)."""
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, self.path)


def content(doc: dict) -> list[str]:
    """普法内容: each regulation of the list with the articles its cards rest on, 《title》第X条、第Y条."""
    out = []
    for reg in doc["regulations"]:
        labels = sorted(dict.fromkeys(label for card in reg["cards"] for label in card["articles"]),
                        key=lambda label: parse_label(label) or (0, ""))
        out.append(f"《{reg['title']}》" + ("、".join(labels) if labels else ""))
    return out


def list_fields(doc: dict, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The list's fields: the data file's defaults for its agency and region, an admin's overrides, and 普法内容."""
    fields = {**default_fields(doc["agency"], doc.get("region")), **(overrides or {})}
    fields["content"] = content(doc)
    return {k: fields[k] for k in LABELS if k in fields}


def field_rows(fields: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, plain text) rows of the fields, in the list's order."""
    rows = []
    for key, label in LABELS.items():
        value = fields.get(key)
        if not value:
            continue
        if key == "key_dates":
            text = "；".join(f"{d['date']}：{d['name']}" for d in value)
        elif isinstance(value, list):
            text = "；".join(value)
        else:
            text = value
        rows.append((label, text))
    return rows
