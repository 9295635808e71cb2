"""The HTTP door: the FastAPI app, its routes, errors and limits, the MCP server."""

import corpus  # noqa: F401 - first: it turns Haystack's telemetry off before any module here imports haystack
