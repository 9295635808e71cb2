"""Retrieval, ranking, answers: the query side."""

import corpus  # noqa: F401 - first: it turns Haystack's telemetry off before any module here imports haystack
