"""What the read commands (search, article, regulations, outreach) read from: the index itself, or the running
server that holds it.

The embedded index (Qdrant Edge) belongs to one process at a time. While a `lawsearch serve` holds it, the server's
address is in the data directory (`service.address`): a read command asks that server's HTTP API and prints the same
thing it prints on its own. The server is asked first: on the 150k-article index (machine under load) a search
from the command line takes 0.9–1.3 s that way, where opening the index here only to find it locked cost 6.4 s. Qdrant Edge has no
read-only open (qdrant-edge-py 0.9: `EdgeShard.load` always takes the WAL's lock), so this is the way to read while
the server runs. An ingest or another writer holding the index still gets the plain "in use" error.
"""
from __future__ import annotations

import time
from typing import Any

from corpus.errors import BackendUnavailable, LawSearchError


class LocalReader:
    """The index opened by this process."""

    via = ""

    def __init__(self, runtime):
        self.runtime = runtime

    def close(self) -> None:
        self.runtime.close()

    def search(self, query: str, *, top_k: int, filters: dict) -> dict:
        return self.runtime.search(query, top_k=top_k, filters=filters)

    def regulations(self) -> list[dict]:
        from service.listing import regulation_order

        return regulation_order(self.runtime.index.regulations(), self.runtime.home_region)

    def article(self, title: str, article: str, *, as_of: str | None) -> tuple[dict, dict]:
        from corpus.articles import ArticleRecord
        from corpus.numerals import parse_article_number

        no, suffix = parse_article_number(article)
        rec, hits = self.runtime.index.article(title, no, suffix, as_of=as_of)
        return rec, ArticleRecord.from_parts(hits).payload

    def outreach(self, agency: str, *, region: str | None, fmt: str) -> str | bytes:
        from outreach import FieldStore, render_outreach

        return render_outreach(self.runtime.index, agency, region=region, fmt=fmt,
                               store=FieldStore(self.runtime.data_dir))


class ServerReader:
    """The same reads through a running server's HTTP API (`lawsearch serve` on the same data directory)."""

    def __init__(self, url: str, *, timeout: float = 60.0):
        import httpx

        self.url = url.rstrip("/")
        self.via = self.url
        self.client = httpx.Client(base_url=self.url, timeout=timeout, trust_env=False)

    def close(self) -> None:
        self.client.close()

    def ready(self, wait_s: float) -> bool:
        """Whether the server answers /healthz with "ok" within `wait_s` seconds (it may be starting up)."""
        import httpx

        deadline = time.monotonic() + wait_s
        while True:
            try:
                if self.client.get("/healthz", timeout=5.0).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.5)

    def _get(self, path: str, params: dict[str, Any]) -> Any:
        import httpx

        try:
            resp = self.client.get(path, params={k: v for k, v in params.items() if v not in (None, "", False)})
        except httpx.HTTPError as exc:
            raise BackendUnavailable(f"无法连接正在运行的检索服务 {self.url}", detail=str(exc)) from exc
        if resp.status_code >= 400:
            try:
                body = resp.json()
            except ValueError:
                body = {}
            detail = body.get("detail") or ""
            if body.get("candidates"):
                detail = "可能是：" + "、".join(f"《{c}》" for c in body["candidates"])
            raise LawSearchError(body.get("message") or f"检索服务返回错误（{resp.status_code}）", detail=detail,
                                 code=body.get("code") or "server_error")
        return resp.json() if "json" in resp.headers.get("content-type", "") else resp

    def search(self, query: str, *, top_k: int, filters: dict) -> dict:
        return self._get("/api/search", {"q": query, "top_k": top_k, **filters})

    def regulations(self) -> list[dict]:
        return self._get("/api/regulations", {"all_versions": "true"})["regulations"]

    def article(self, title: str, article: str, *, as_of: str | None) -> tuple[dict, dict]:
        body = self._get("/api/article", {"title": title, "article": article, "as_of": as_of})
        return body["regulation"], body["article"]

    def outreach(self, agency: str, *, region: str | None, fmt: str) -> str | bytes:
        resp = self._get("/api/outreach", {"agency": agency, "region": region, "format": fmt})
        return resp.content if fmt == "docx" else resp.text


def _alive(pid) -> bool:
    import os

    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError, TypeError):
        return False
    return True


def open_reader(settings, *, wait_s: float = 20.0):
    """A ServerReader when a running `lawsearch serve` holds the index, else a LocalReader over it.

    A live server recorded in the data directory is asked first (opening the index here would only find it locked,
    after seconds of imports); otherwise the index is opened here, and if another process turns out to hold it, the
    recorded server is waited for (it may be starting up)."""
    from service.address import read_address

    found = None if settings.qdrant_url else read_address(settings.data_dir)
    if found is not None and _alive(found.get("pid")):
        reader = ServerReader(found["url"])
        if reader.ready(2.0):
            return reader
        reader.close()

    from service.runtime import Runtime

    try:
        return LocalReader(Runtime.open(settings))
    except BackendUnavailable as held:
        found = None if settings.qdrant_url else read_address(settings.data_dir)
        if found is None:
            raise
        reader = ServerReader(found["url"])
        if not reader.ready(wait_s):
            reader.close()
            raise BackendUnavailable(held.message, detail=f"无法连接该目录记录的检索服务 {found['url']}",
                                     path=held.path) from held
        return reader


__all__ = ["LocalReader", "ServerReader", "open_reader"]
