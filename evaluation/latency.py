"""Latency figures of timed calls (milliseconds → n, p50 … p99, max, mean), for every benchmark."""
from __future__ import annotations

import statistics


def percentiles(ms: list[float]) -> dict[str, float]:
    s = sorted(ms)

    def pct(p: float) -> float:
        if not s:
            return 0.0
        i = min(len(s) - 1, max(0, int(round(p / 100 * (len(s) - 1)))))
        return round(s[i], 2)

    return {"n": len(s), "p50_ms": pct(50), "p90_ms": pct(90), "p95_ms": pct(95), "p99_ms": pct(99),
            "max_ms": round(s[-1], 2) if s else 0.0, "mean_ms": round(statistics.fmean(s), 2) if s else 0.0}
