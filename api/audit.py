"""The audit log of admin actions: JSON lines in <data_dir>/audit.log (who, what, when, result).

"Who" is the key id (a sha256 prefix of the API key), never the key itself.
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


def key_id(key: str | None) -> str:
    """A stable, non-reversible id of an API key: the first 12 hex digits of its sha256."""
    if not key:
        return "anonymous"
    return "key-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


class AuditLog:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()

    def record(self, *, who: str, role: str | None, action: str, result: str, target: str = "",
               detail: Any = None, client: str | None = None) -> dict:
        entry = {"time": datetime.now(timezone.utc).isoformat(timespec="seconds"), "ts": time.time(),
                 "who": who, "role": role or "", "action": action, "target": target, "result": result}
        if detail is not None:
            entry["detail"] = detail
        if client:
            entry["client"] = client
        line = json.dumps(entry, ensure_ascii=False)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line + "\n")
        return entry

    def read(self, limit: int = 200) -> list[dict]:
        """The latest `limit` entries, newest first (unreadable lines are skipped)."""
        with self._lock:
            if not self.path.exists():
                return []
            lines = self.path.read_text(encoding="utf-8").splitlines()
        out = []
        for line in reversed(lines):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
            if len(out) >= limit:
                break
        return out
