"""Where a running `lawsearch serve` can be reached, kept in its data directory.

The embedded index (Qdrant Edge) belongs to one process at a time, so while the server runs, the command line's
read commands cannot open it themselves; they ask the server instead. The server writes `server.json`
({"url", "pid", "started"}) into the data directory once it holds the index and removes it when it stops; a file
left behind by a killed server is harmless: the index is free again then, and readers open it directly.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

ADDRESS_FILE = "server.json"


def client_url(host: str, port: int) -> str:
    """The URL a local client uses for a server bound to `host` (a wildcard address means this machine)."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def write_address(data_dir: str | Path, url: str) -> Path:
    path = Path(data_dir) / ADDRESS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{ADDRESS_FILE}.{os.getpid()}")
    tmp.write_text(json.dumps({"url": url, "pid": os.getpid(), "started": time.time()}), encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_address(data_dir: str | Path) -> dict | None:
    """The running server's record, or None when there is none (or it cannot be read)."""
    try:
        data = json.loads((Path(data_dir) / ADDRESS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("url"), str) else None


def remove_address(data_dir: str | Path) -> None:
    """Remove the record if this process wrote it (another server may have taken the directory over since)."""
    path = Path(data_dir) / ADDRESS_FILE
    found = read_address(data_dir)
    if found is not None and found.get("pid") == os.getpid():
        path.unlink(missing_ok=True)


__all__ = ["ADDRESS_FILE", "client_url", "read_address", "remove_address", "write_address"]
