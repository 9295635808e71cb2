"""FilterSpec -> the engine's filter objects (Qdrant Edge or qdrant-client models).

Both translations go through one checked intermediate form, so both backends accept and refuse the same specs.
A Condition with several predicates becomes a nested filter whose `must` holds one condition per predicate.
"""
from __future__ import annotations

import datetime as _dt
from typing import Any

from corpus.errors import InvalidFilter

from .base import Condition, FilterSpec

_RANGE_KEYS = ("gt", "gte", "lt", "lte")


def _parse_iso(value: str, field: str) -> str:
    """Check an ISO-8601 date/datetime bound and return it unchanged (the engines parse it themselves)."""
    text = value.strip()
    try:
        if len(text) == 10:
            _dt.date.fromisoformat(text)
        else:
            _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidFilter(
            "日期格式不正确，应为 YYYY-MM-DD", detail=f"{field}: {value!r}", code="invalid_filter"
        ) from None
    return text


def _predicates(cond: Condition) -> list[tuple[str, Any]]:
    """[(kind, arg)] with kind in eq / any / range_num / range_date / is_empty."""
    if not cond.field:
        raise InvalidFilter("过滤条件缺少字段名", detail=repr(cond))
    preds: list[tuple[str, Any]] = []
    if cond.eq is not None:
        if not isinstance(cond.eq, (str, int, bool)):
            raise InvalidFilter("过滤值只能是文字、整数或布尔值", detail=f"{cond.field}: {cond.eq!r}")
        preds.append(("eq", cond.eq))
    if cond.any_of is not None:
        values = list(cond.any_of)
        if not values:
            raise InvalidFilter("过滤条件的候选值不能为空", detail=cond.field)
        if all(isinstance(v, str) for v in values):
            pass
        elif all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            pass
        else:
            raise InvalidFilter("候选值须全为文字或全为整数", detail=f"{cond.field}: {values!r}")
        preds.append(("any", values))
    bounds = {k: getattr(cond, k) for k in _RANGE_KEYS if getattr(cond, k) is not None}
    if bounds:
        if all(isinstance(v, str) for v in bounds.values()):
            preds.append(("range_date", {k: _parse_iso(v, cond.field) for k, v in bounds.items()}))
        elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in bounds.values()):
            preds.append(("range_num", {k: float(v) for k, v in bounds.items()}))
        else:
            raise InvalidFilter("范围条件须全为数字或全为日期", detail=f"{cond.field}: {bounds!r}")
    if cond.is_empty is not None:
        preds.append(("is_empty", bool(cond.is_empty)))
    if not preds:
        raise InvalidFilter("过滤条件没有给出任何取值", detail=cond.field)
    return preds


# ---------------------------------------------------------------------------------------------- Qdrant Edge
def to_edge(spec: FilterSpec | None):
    """The qdrant_edge.Filter for `spec`, or None for no filter."""
    if spec is None or spec.is_empty():
        return None
    import qdrant_edge as qe

    def one(field: str, kind: str, arg: Any):
        if kind == "eq":
            if isinstance(arg, bool):
                # qdrant-edge-py 0.9.0 extracts a Python bool as the integer 0/1 (bool subclasses int), so
                # MatchValue(True) would match the integer 1 and never a stored true; numpy.bool_ reaches it as bool.
                import numpy as np

                arg = np.bool_(arg)
            return qe.FieldCondition(field, match=qe.MatchValue(arg))
        if kind == "any":
            return qe.FieldCondition(field, match=qe.MatchAny(arg))
        if kind == "range_num":
            return qe.FieldCondition(field, range=qe.RangeFloat(**arg))
        if kind == "range_date":
            return qe.FieldCondition(field, range=qe.RangeDateTime(**arg))
        if arg:  # is_empty=True
            return qe.IsEmptyCondition(field)
        return qe.FieldCondition(field, is_empty=False)

    def cond(c: Condition):
        parts = [one(c.field, k, a) for k, a in _predicates(c)]
        return parts[0] if len(parts) == 1 else qe.Filter(must=parts)

    return qe.Filter(
        must=[cond(c) for c in spec.must] or None,
        should=[cond(c) for c in spec.should] or None,
        must_not=[cond(c) for c in spec.must_not] or None,
    )


# ---------------------------------------------------------------------------------------------- qdrant-client
def to_server(spec: FilterSpec | None):
    """The qdrant_client.models.Filter for `spec`, or None for no filter."""
    if spec is None or spec.is_empty():
        return None
    from qdrant_client import models as m

    def one(field: str, kind: str, arg: Any):
        if kind == "eq":
            return m.FieldCondition(key=field, match=m.MatchValue(value=arg))
        if kind == "any":
            return m.FieldCondition(key=field, match=m.MatchAny(any=arg))
        if kind == "range_num":
            return m.FieldCondition(key=field, range=m.Range(**arg))
        if kind == "range_date":
            return m.FieldCondition(key=field, range=m.DatetimeRange(**arg))
        if arg:
            return m.IsEmptyCondition(is_empty=m.PayloadField(key=field))
        # "has a value": not (missing, null or [])
        return m.Filter(must_not=[m.IsEmptyCondition(is_empty=m.PayloadField(key=field))])

    def cond(c: Condition):
        parts = [one(c.field, k, a) for k, a in _predicates(c)]
        return parts[0] if len(parts) == 1 else m.Filter(must=parts)

    return m.Filter(
        must=[cond(c) for c in spec.must] or None,
        should=[cond(c) for c in spec.should] or None,
        must_not=[cond(c) for c in spec.must_not] or None,
    )
