"""The web page in a real browser: Debian's chromium (/usr/bin/chromium, never a downloaded one) driven by
Playwright, against `lawsearch serve` started by the tests on a free port over a small index of
../shared/corpus/xuzhou. Pages open at 1280 px (desktop) and 390 px (phone)."""
from __future__ import annotations

import shutil

import pytest

from tests.indexes import ingested_runtime
from tests.servers import admin_env, served

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
ADMIN_KEY = "browser-admin-key-0123456789"
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(scope="session")
def site(tmp_path_factory, corpus_dir):
    """The URL of a running `lawsearch serve` over the Xuzhou texts (BM25 only: fast to build)."""
    data = tmp_path_factory.mktemp("browser") / "data"
    with ingested_runtime(data, [corpus_dir / "xuzhou"]):
        pass
    with served(data, env=admin_env(ADMIN_KEY)) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    """Per module: Playwright's sync API allows one running instance per thread, and tests/api/test_browser.py
    starts its own."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: scripts/setup installs Debian's chromium")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(params=sorted(WIDTHS), ids=sorted(WIDTHS))
def page(request, browser, site):
    """A fresh page at one of the widths; `page.problems` collects console errors, page errors and 5xx answers."""
    phone = request.param == "phone"
    ctx = browser.new_context(viewport=WIDTHS[request.param], is_mobile=phone, has_touch=phone,
                              device_scale_factor=2 if phone else 1, locale="zh-CN", base_url=site)
    pg = ctx.new_page()
    problems: list[str] = []
    pg.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: problems.append(str(e)))
    pg.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 500 else None)
    pg.problems = problems
    pg.width = WIDTHS[request.param]["width"]
    yield pg
    ctx.close()
