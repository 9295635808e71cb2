"""Property-based API test: schemathesis generates requests from the served OpenAPI schema (/api/openapi.json) for
every operation, valid (positive) and invalid (negative) ones; no response may be a server error (5xx), and every
answer must match the schema documented for its status (errors: the {code, message, detail} ErrorBody).

The app runs over its own small index (three Xuzhou files, module scope), not the session index of the other API
tests: the generated calls include admin uploads and deletes, sent with a valid admin key so the admin routes are
exercised past their auth check. Rate limits are off here (the generator sends hundreds of requests from one
client). Examples per operation and mode are bounded (25 in the short form, so the module runs well under two
minutes; 500 with LAWSEARCH_STRESS=full; or LAWSEARCH_SCHEMATHESIS_EXAMPLES: tests/stress.py). Run with -s to see
the requests sent and the statuses seen per operation.

Each operation is driven through `APIOperation.as_strategy` under Hypothesis rather than schemathesis' pytest
plugin (`schemathesis.pytest.from_fixture` fails under pytest 9.2: it rewrites a node attribute pytest renamed).
"""
from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance

from tests.api.conftest import ADMIN_KEY
from tests.stress import budget as stress_budget

pytestmark = [pytest.mark.integration, pytest.mark.stress]

FILES = ("徐州市养犬管理条例_2023修正.md", "徐州市安全生产条例_2019.md", "徐州市安全生产条例_2024修正.md")
EXAMPLES = int(stress_budget("LAWSEARCH_SCHEMATHESIS_EXAMPLES", short=25, full=500))


def _operations() -> list[tuple[str, str, bool]]:
    """(method, path, has inputs) of every operation in the app's schema; reading it needs no index."""
    from api.app import create_app
    from corpus.settings import Settings

    spec = create_app(Settings(data_dir=Path("unused-schema-only"))).openapi()
    return [(m.upper(), p, bool(op.get("parameters") or op.get("requestBody")))
            for p, ops in spec["paths"].items() for m, op in ops.items()]


OPERATIONS = _operations()
# Invalid requests only exist for operations that take input.
# Deletes run last: seeded with the indexed regulation ids (below), they may empty the module's index.
CASES = [pytest.param(m, p, mode, id=f"{m} {p} {mode.value}")
         for m, p, inputs in sorted(OPERATIONS, key=lambda op: op[0] == "DELETE")
         for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) if inputs or mode is GenerationMode.POSITIVE]
AGENCIES = ["应急管理", "公安", "城市管理"]
ARTICLES = ["1", "3", "第五条", "第十二条", "20"]


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory, corpus_dir):
    from api.app import create_app
    from corpus.settings import Settings
    from service.runtime import Runtime

    settings = Settings(data_dir=tmp_path_factory.mktemp("schemathesis-data"), api_keys={ADMIN_KEY: "admin"},
                        max_upload_mb=1, max_upload_files=3, llm_base_url=None, qdrant_url=None,
                        embedding_model=None, rate_limit_per_minute=0, rate_limit_heavy_per_minute=0)
    rt = Runtime.open(settings)
    summary = rt.ingest([corpus_dir / "xuzhou" / name for name in FILES], progress=False, train=False)
    assert summary.regulations == 3 and not summary.failed, summary.to_dict()
    app = create_app(settings, runtime=rt)
    app.state.regulation_ids = sorted({r["regulation_id"] for r in rt.index.regulations()})
    yield app
    rt.close()


@pytest.fixture(scope="module")
def api_schema(fuzz_app):
    return schemathesis.openapi.from_asgi("/api/openapi.json", fuzz_app)


def strategy(operation, mode, regulation_ids):
    """Generated cases, half of them aimed at real data: random regulation ids almost never exist (every call
    would stop at 404), so routes with a regulation id also run with the indexed ones (and articles that exist),
    and /api/outreach with agencies and the region the index knows; the other parameters stay generated."""
    base = operation.as_strategy(generation_mode=mode)
    if "{regulation_id}" in operation.path:
        paths = st.fixed_dictionaries({"regulation_id": st.sampled_from(regulation_ids)})
        if "{article}" in operation.path:
            paths = st.fixed_dictionaries({"regulation_id": st.sampled_from(regulation_ids),
                                           "article": st.sampled_from(ARTICLES)})
        return st.one_of(base, paths.flatmap(
            lambda given: operation.as_strategy(generation_mode=mode, path_parameters=given)))
    if operation.path == "/api/outreach":
        query = st.fixed_dictionaries({"agency": st.sampled_from(AGENCIES)},
                                      optional={"region": st.just("徐州市")})
        return st.one_of(base, query.flatmap(lambda given: operation.as_strategy(generation_mode=mode, query=given)))
    return base


def test_every_route_is_in_the_schema():
    paths = {p for _, p, _ in OPERATIONS}
    assert {"/api/search", "/api/ask", "/api/regulations", "/api/regulations/{regulation_id}",
            "/api/regulations/{regulation_id}/articles/{article}", "/api/audit", "/api/outreach",
            "/healthz", "/metrics"} <= paths
    ops = {(m, p): inputs for m, p, inputs in OPERATIONS}
    assert ops[("POST", "/api/regulations")] and ops[("DELETE", "/api/regulations/{regulation_id}")]


@pytest.mark.parametrize("method,path,mode", CASES)
def test_no_server_errors_and_answers_match_the_schema(fuzz_app, api_schema, method, path, mode):
    operation = api_schema[path][method]
    seen: list[int] = []

    @given(case=strategy(operation, mode, fuzz_app.state.regulation_ids))
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def run(case):
        response = case.call(headers={"X-API-Key": ADMIN_KEY})
        seen.append(response.status_code)
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

    run()
    assert seen, "no request was generated"
    print(f"{method} {path} {mode.value}: {len(seen)} requests, statuses {sorted(set(seen))}")  # shown with -s
