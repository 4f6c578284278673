"""Scoring a million claims in batch (red flags + the calibrated model + top features), in one run.

    .venv/bin/python bench/risk.py [--claims 1000000] [--chunk 100000] [--runs 3] [--labels 20000]

Setup (not measured): the default red flags (``defaults/risk/red_flags.yaml``); a model fitted, as
``claimwatch risk train`` fits it, on ``--labels`` synthetic labelled claims (``demo.risk.synthetic_history``);
then ``--claims`` claims' facts as numpy columns (what a batch job reading the ``claims`` table and the stored
report facts builds; numbers with NaN for unknown, text as object arrays) drawn with a vectorised copy of the
demo's distributions.

Measured, ``--runs`` times after one warm-up, over all claims in chunks of ``--chunk``:
- ``rules``: the red flags (``Condition.mask`` per flag), points and levels (``risk.service.score_columns``
  without a model);
- ``rules + model``: the same, plus the feature matrix, the calibrated probability, the combined level and the
  three top contributing features of every claim (the report-time scorer's work, batch form);
- for reference, the object path ``risk.service.score_facts`` on 20 000 ``ClaimFacts`` (column building +
  scoring + reasons rendered per claim), which ingestion uses for its (small) batches.
Goal: rules + model ≥ 50 000 claims/s. Writes bench/results/risk-<time>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from claimwatch.demo.risk import synthetic_facts, synthetic_history
from claimwatch.risk.features import BASE_FACTS, facts_columns, feature_matrix, feature_names, fill_headroom
from claimwatch.risk.loader import default_red_flags
from claimwatch.risk.model_training import fit
from claimwatch.risk.service import score_columns, score_facts

LINES = np.array(["motor", "medical", "property", "accident", "life"], dtype=object)


def columns_for(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    line = LINES[rng.choice(5, size=n, p=[0.5, 0.25, 0.1, 0.1, 0.05])]
    amount = np.round(np.maximum(50.0, rng.lognormal(np.log(4000.0), 0.9, n)), 2)
    just_under = rng.random(n) < 0.1
    amount[just_under] = np.round(rng.choice([3000.0, 5000.0, 10000.0], just_under.sum()) * 0.98, 2)
    early = rng.random(n) < 0.15
    days = np.where(early, rng.integers(0, 31, n), rng.integers(31, 1801, n)).astype(np.float64)
    reinstated = np.where(rng.random(n) < 0.03, rng.integers(0, 61, n), np.nan)
    delay = np.where(rng.random(n) < 0.1, rng.integers(8, 41, n), np.minimum(rng.exponential(0.8, n) // 1, 7))
    hot = (rng.random(n) < 0.15) & np.isin(line, ["motor", "medical"])
    hour = rng.integers(0, 24, n)
    return {
        "line": line,
        "amount_cny": amount,
        "days_since_policy_start": days,
        "reinstated_days": reinstated.astype(np.float64),
        "report_delay_days": delay.astype(np.float64),
        "night": ((hour >= 22) | (hour < 6)).astype(np.float64),
        "weekend": (rng.random(n) < 2 / 7).astype(np.float64),
        "injury": (rng.random(n) < 0.1).astype(np.float64),
        "liability_clear": np.where(line == "motor", (rng.random(n) < 0.7).astype(np.float64), np.nan),
        "repeat_claimant_count": np.where(rng.random(n) < 0.08, rng.integers(3, 7, n), 0).astype(np.float64),
        "shared_contact_count": np.where(rng.random(n) < 0.08, rng.integers(2, 6, n), 0).astype(np.float64),
        "provider_share": np.where(hot, rng.uniform(0.3, 0.4, n), rng.uniform(0, 0.08, n)),
        "provider_claim_count": np.where(hot, rng.integers(20, 61, n), rng.integers(0, 11, n)).astype(np.float64),
        "authority_headroom_pct": np.full(n, np.nan),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--labels", type=int, default=20_000)
    args = parser.parse_args()

    flags = default_red_flags()
    history = list(synthetic_history(1, args.labels, dt.datetime(2025, 1, 1, tzinfo=dt.UTC)))
    names = flags.facts_used() | BASE_FACTS | {"amount_cny"}
    train_columns = facts_columns([h.facts for h in history], names)
    fill_headroom(train_columns, flags.authority_limits)
    fired = score_columns(train_columns, flags, None).fired
    model = fit(feature_matrix(train_columns, fired), np.array([h.label for h in history]), feature_names(flags.codes))

    print(f"building {args.claims:,} claims' columns …", file=sys.stderr)
    chunks = []
    for start in range(0, args.claims, args.chunk):
        cols = columns_for(min(args.chunk, args.claims - start), seed=start)
        fill_headroom(cols, flags.authority_limits)
        chunks.append(cols)

    def run(with_model: bool) -> float:
        began = time.perf_counter()
        high = 0
        for cols in chunks:
            batch = score_columns(cols, flags, model if with_model else None)
            high += int((batch.level == 2).sum())
        elapsed = time.perf_counter() - began
        run.high = high  # type: ignore[attr-defined]
        return elapsed

    results: dict[str, dict[str, float]] = {}
    for label, with_model in (("rules", False), ("rules + model", True)):
        run(with_model)  # warm-up
        times = [run(with_model) for _ in range(args.runs)]
        median = statistics.median(times)
        results[label] = {
            "median_seconds": round(median, 3),
            "max_seconds": round(max(times), 3),
            "claims_per_second": round(args.claims / median),
            "high_share": round(run.high / args.claims, 4),  # type: ignore[attr-defined]
        }
        print(f"{label:>14}: {args.claims / median:12,.0f} claims/s (median {median:.2f} s of {args.runs})")

    rng = random.Random(5)
    objects = [synthetic_facts(rng, dt.datetime(2026, 11, 1, tzinfo=dt.UTC)) for _ in range(20_000)]
    score_facts(flags, model, objects[:1000])
    began = time.perf_counter()
    score_facts(flags, model, objects)
    elapsed = time.perf_counter() - began
    results["objects (ClaimFacts → results)"] = {"claims_per_second": round(len(objects) / elapsed)}
    print(f"ClaimFacts objects, columns + scores + reasons: {len(objects) / elapsed:,.0f} claims/s")
    goal = results["rules + model"]["claims_per_second"] >= 50_000
    print(f"goal ≥ 50 000 claims/s (rules + model): {'met' if goal else 'NOT met'}")

    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    record = {
        "bench": "risk",
        "at": stamp,
        "claims": args.claims,
        "chunk": args.chunk,
        "runs": args.runs,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "results": results,
        "goal_met": goal,
    }
    (out / f"risk-{stamp}.json").write_text(json.dumps(record, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
