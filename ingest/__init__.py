"""Files to regulations: converters, structure, metadata, the ingest pipeline."""

import corpus  # noqa: F401 - first: it turns Haystack's telemetry off before any module here imports haystack
