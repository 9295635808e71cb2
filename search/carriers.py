"""What flows between the query pipeline's components, passed on as is.

Haystack deep-copies every value handed from one component to the next (lists and dicts item by item, through
`isinstance` checks against protocol classes): for a result of ten hit dicts with their texts and links that was
≈500 copies and 2–3 ms per query, measured with cProfile on the 150k-article index. Each value here has a single
consumer, so copying protects nothing; these carriers answer `deepcopy` with themselves.
"""
from __future__ import annotations


class Hits:
    """Hit dicts handed from one component to the next."""

    def __init__(self, items=()):
        self.items: list[dict] = list(items)

    def __deepcopy__(self, memo):
        return self

    def to_dict(self) -> dict:  # what a Haystack pipeline snapshot records of it
        return {"hits": len(self.items)}


class Result:
    """The search result (mode, candidates, hits, …) from the merger through the linker to the caller."""

    def __init__(self, data: dict):
        self.data = data

    def __deepcopy__(self, memo):
        return self

    def to_dict(self) -> dict:
        return {"mode": self.data.get("mode"), "hits": len(self.data.get("hits") or [])}
