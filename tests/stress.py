"""The long stress runs come in two forms. The README's test command (and so CI) runs the short one; set
LAWSEARCH_STRESS=full for the long one before a release or after touching ingest, the store or the converters.
A knob of a test's own (LAWSEARCH_CRASH_TRIALS, LAWSEARCH_FUZZ_SECONDS, LAWSEARCH_SCHEMATHESIS_EXAMPLES) wins over
the form. Tests that use it carry the `stress` marker, so `pytest -m "not stress"` leaves them out altogether."""
from __future__ import annotations

import os

FORMS = ("short", "full")
FORM = os.environ.get("LAWSEARCH_STRESS", "short").strip() or "short"
if FORM not in FORMS:
    raise ValueError(f"LAWSEARCH_STRESS={FORM!r}: expected one of {', '.join(FORMS)}")


def budget(knob: str, *, short: float, full: float) -> float:
    """The value of the environment variable `knob` when it is set, else the current form's value."""
    value = os.environ.get(knob, "").strip()
    if value:
        return float(value)
    return full if FORM == "full" else short
