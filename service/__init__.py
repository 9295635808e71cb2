"""The application's wiring: settings → store → ingest and search, composed once for every entry point.

The doors (`api/`, `cli/`, `evaluation/`) import this package; it imports none of them.
"""
