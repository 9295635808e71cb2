"""A real index of the main job's files (../shared/corpus/{xuzhou,formats,real-files}) for the outreach tests."""
from __future__ import annotations

import pytest

from tests.indexes import ingested_runtime, main_job_files


@pytest.fixture(scope="package")
def index(tmp_path_factory, corpus_dir):
    with ingested_runtime(tmp_path_factory.mktemp("outreach-index"), main_job_files(corpus_dir)) as runtime:
        yield runtime.index
