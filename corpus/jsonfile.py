"""Small JSON files kept beside the index (the learned wording, the level links, a ranker's card): written whole or
not at all (a temporary file renamed over the old one), read back as None when absent."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_json(path: Path, data: Any, **dumps: Any) -> Path:
    """Write `data` to `path` atomically (its folder made when missing); `dumps` go to json.dumps."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, **dumps), encoding="utf-8")
    tmp.replace(path)
    return path


def read_json(path: Path) -> Any | None:
    """The JSON value in `path`, or None when there is no such file."""
    path = Path(path)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


__all__ = ["read_json", "write_json"]
