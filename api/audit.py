"""The audit log of admin actions: JSON lines in <data_dir>/audit.log (who, what, when, result).

"Who" is the key id (a sha256 prefix of the API key), never the key itself. Each entry keeps its codes for programs
(`action`, `result`) and says the same in Chinese for people (`message`, worded from `api/data/audit.json`, with
the file names of an upload); `time` is the server's local time with its UTC offset, `ts` the epoch seconds.
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any


def key_id(key: str | None) -> str:
    """A stable, non-reversible id of an API key: the first 12 hex digits of its sha256."""
    if not key:
        return "anonymous"
    return "key-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


WORDING = Path(__file__).resolve().parent / "data" / "audit.json"


@cache
def wording() -> dict:
    return json.loads(WORDING.read_text(encoding="utf-8"))


def result_words(result: str) -> str:
    """A result code in Chinese: 'ok' → 成功, 'rejected: unsupported_type' → 被拒绝 (the reason is told apart)."""
    words = wording()["results"]
    if result in words:
        return words[result]
    head = result.split(":", 1)[0] + ":"
    return words.get(head, result)


def describe(*, who: str, role: str | None, action: str, result: str, target: str = "", reason: str = "") -> str:
    """One Chinese sentence for an entry: 管理员（key-…）上传法规文件 a.md、b.pdf：部分成功。"""
    w = wording()
    actor = f"{w['roles'].get(role or '', role or '')}（{who}）"
    what = w["actions"].get(action, action)
    on = f"：{target}" if target else ""
    why = f"，{reason}" if reason else ""
    return f"{actor}{what}{on} → {result_words(result)}{why}"


class AuditLog:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()

    def record(self, *, who: str, role: str | None, action: str, result: str, target: str = "",
               detail: Any = None, client: str | None = None, message: str | None = None) -> dict:
        """Append one entry. `message` is the Chinese sentence (composed from the codes when not given)."""
        now = time.time()
        entry = {"time": datetime.fromtimestamp(now).astimezone().isoformat(timespec="seconds"), "ts": now,
                 "who": who, "role": role or "", "action": action, "target": target, "result": result,
                 "message": message or describe(who=who, role=role, action=action, result=result, target=target)}
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
