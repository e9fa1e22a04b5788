"""Routing benchmark: RuleIndex against linear scans, and an event-ruler style city-lots run.

    .venv/bin/python bench/routing.py            # full run, about 2-3 minutes on 2 cores
    .venv/bin/python bench/routing.py --quick    # smoke run, about 30 seconds

Setup: ``.venv/bin/python -m pip install -r bench/requirements.txt`` (moto, the peer).

Part 1, buses of 10 / 100 / 1,000 / 10,000 rules of mixed operators (exact, prefix,
suffix, equals-ignore-case, wildcard, anything-but, numeric, exists, cidr, ``$or``,
nested fields and fields inside arrays of objects), matched against EventBridge-shaped
events of 20-50 leaf fields. Each bus gets about ten rules per event source, like a real
bus that only receives events from the services its rules listen to, so every bus size
sees a similar number of matches per event. Events are dicts (parsing is not timed here;
moto's ``matches_event`` does its own JSON round trip per call, which is part of its cost).
Peers, measured in the same run on events of the same stream:

* our linear scan: ``EventPattern.matches`` for every rule;
* moto (``moto.events.models.EventPattern.load(text).matches_event(event)``) for every rule
  it supports: moto does not descend into arrays of objects, so rules on
  ``detail.order.items.*`` are left out of its scan (its time is not scaled back up, which
  flatters moto), and any other rule where moto raises or disagrees with EventPattern on a
  sample is left out too;
* moto's matcher core with the event flattened once per event rather than once per rule
  (moto's private ``_flatten_dict``/``_does_event_match``), to show how much of moto's
  cost is its per-call JSON round trip.

The slow peers are timed on the first events of the (random) stream (the table says how
many: for the linear scans as many as fit a time budget, for moto a fixed 40,000 event x rule
pairs, so every run compares the index and moto on the same events) and their per-event
cost is extrapolated from them. Every bus is checked: on a sample of events
``RuleIndex.matching`` must equal the set of rules whose ``EventPattern.matches`` is true,
or the run aborts.

Part 2, city lots shaped like aws/event-ruler's own benchmark (Benchmarks.java, CL2Benchmark):
generated GeoJSON features of about 900 bytes, matched from JSON text (orjson parsing
inside the timing) against five rules per family, printed next to event-ruler's
published figures (README "Performance", a 2019 MacBook, JVM).

Timing: time.perf_counter, a short warm-up, then the best of N passes (N is printed); a
pass lasts at least 0.1 s, going over a short sample several times if need be.
All matchers of a part are timed round-robin (pass 1 of each, then pass 2 of each, ...), so
load from other processes, if any, spreads over every column; the header reports the CPU
share of the reported passes to show whether there was any. Garbage collection stays on,
after the rule sets are built and frozen (gc.freeze()).
Output: Markdown on stdout (paste into README.md), progress on stderr.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import random
import shlex
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402

from flows.routing import EventPattern, RuleIndex  # noqa: E402

try:
    import moto
    from moto.events.models import EventPattern as MotoEventPattern
except ImportError:  # pragma: no cover - told to the user below
    moto = None
    MotoEventPattern = None

SIZES = (10, 100, 1_000, 10_000)
RULES_PER_SOURCE = 10

# event-ruler README, "Performance": 213,068 citylots events (~900 bytes) on a 2019 MacBook.
PUBLISHED = {"exact": 220_000, "wildcard": 170_000, "anything-but": 150_000, "numeric": 120_000}
PUBLISHED_BY_FAMILY = {**PUBLISHED, "numeric-first": PUBLISHED["numeric"]}
# Also stated there, not among the four figures this report compares against.
README_ALSO = {
    "equals-ignore-case": "200K/s",
    "prefix": "over 220K/s (the README's default figure)",
    "suffix": "over 220K/s (the README's default figure)",
}
TARGET_VS_MOTO = 1_000  # RuleIndex at least this many times moto's speed at 1,000 rules
TARGET_FLATNESS = 2.0  # µs/event at 10,000 rules at most this times µs/event at 10 rules
TARGET_VS_RULER = 5.0  # city lots: within this factor of event-ruler's published figures


_STARTED = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - _STARTED:5.0f} s] {message}", file=sys.stderr, flush=True)


# --- timing -----------------------------------------------------------------------


class Plan:
    """One matcher to time on one sample; the best pass goes to ``row[key]``."""

    def __init__(
        self,
        row: dict[str, Any],
        key: str,
        fn: Callable[[Any], Any],
        sample: list[Any],
        repeats: int,
    ) -> None:
        self.row, self.key, self.fn, self.sample, self.repeats = row, key, fn, sample, repeats
        self.best = float("inf")
        self.best_cpu = 0.0
        self.loops = 1


def run_plans(plans: Sequence[Plan]) -> None:
    """Warm each plan up, then run pass 1 of every plan, pass 2 of every plan, and so on.

    A pass goes over its sample as many times as it takes to last about ``MIN_PASS``
    seconds: one pass of 18 fast events would be a millisecond, timed right after a
    slow peer's pass has evicted the caches, which measures the cold start rather than
    the rate at which a bus routes a stream of events.
    """
    for plan in plans:
        warm = plan.sample[: min(50, max(1, len(plan.sample) // 5))]
        start = time.perf_counter()
        for event in warm:
            plan.fn(event)
        if (time.perf_counter() - start) * len(plan.sample) / len(warm) >= 2 * MIN_PASS:
            continue  # a slow matcher (moto): one pass over the sample is long enough
        start = time.perf_counter()
        for event in plan.sample:
            plan.fn(event)
        once = time.perf_counter() - start
        plan.loops = max(1, math.ceil(MIN_PASS / max(once, 1e-9)))
    for round_number in range(max(plan.repeats for plan in plans)):
        for plan in plans:
            if round_number >= plan.repeats:
                continue
            fn, sample = plan.fn, plan.sample
            gc.collect()
            cpu = time.process_time()
            start = time.perf_counter()
            for _ in range(plan.loops):
                for event in sample:
                    fn(event)
            elapsed = time.perf_counter() - start
            if elapsed < plan.best:
                plan.best, plan.best_cpu = elapsed, time.process_time() - cpu
    for plan in plans:
        plan.row[plan.key] = plan.best / (len(plan.sample) * plan.loops)
        share = plan.best_cpu / plan.best
        plan.row[f"{plan.key}_share"] = share
        CPU_SHARE.append(share)


# CPU time / wall time of every reported pass: well under 1 means other processes took
# the CPU away during the timing, and every figure is inflated by about that much.
CPU_SHARE: list[float] = []
# Shortest timed pass (seconds): shorter samples are gone over several times per pass.
MIN_PASS = 0.1


def sample_for_budget(
    fn: Callable[[Any], Any], events: Sequence[Any], budget: float, minimum: int
) -> list[Any]:
    """The first events of the (random) stream that one pass of ``fn`` gets through in
    about ``budget`` seconds, at least ``minimum`` of them."""
    start = time.perf_counter()
    probed = 0
    for event in events:
        fn(event)
        probed += 1
        if time.perf_counter() - start > min(0.25, budget / 4) and probed >= 2:
            break
    per_event = (time.perf_counter() - start) / probed
    count = max(minimum, min(len(events), int(budget / per_event)))
    return list(events[:count])


# --- part 1: mixed-operator buses ---------------------------------------------------

REGIONS = ["us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"]
DETAIL_TYPES = [
    "Order Placed",
    "Order Shipped",
    "Order Cancelled",
    "Payment Authorized",
    "Payment Failed",
    "User Signed Up",
    "Login Attempt",
    "Inventory Low",
]
STATES = ["pending", "processing", "shipped", "delivered", "cancelled", "failed", "refunded"]
CURRENCIES = ["USD", "USD", "EUR", "GBP", "JPY", "AUD", "usd", "Eur"]
TIERS = ["free", "pro", "enterprise", "Pro", "FREE"]
USER_TYPES = ["IAMUser", "AssumedRole", "Root", "FederatedUser"]
API_PATHS = [
    "/api/v1/orders",
    "/api/v2/orders",
    "/api/v1/users",
    "/api/v1/payments",
    "/api/v2/carts",
    "/internal/health",
    "/internal/metrics",
]
METHODS = ["GET", "GET", "POST", "PUT", "DELETE"]
AGENTS = ["Mozilla/5.0 (X11; Linux x86_64)", "aws-cli/2.15.0", "Boto3/1.34.2", "curl/8.4.0"]
MAIL_DOMAINS = ["example.com", "example.org", "corp.example.net", "mail.test"]
FIRST_NAMES = ["ana", "ben", "chen", "dora", "emil", "fatima", "gus", "hana", "ivan", "jo"]
SKU_FAMILIES = ["BK", "EL", "HM", "TY", "GR"]
TAGS = ["prod", "staging", "canary", "eu", "us", "vip", "bulk", "gift", "express", "retry"]
ERROR_CODES = ["AccessDenied", "Throttling", "CardDeclined", "Timeout", "NotFound"]
OTHER_SOURCES = ["aws.health", "aws.ec2", "aws.s3", "aws.signin"]


def bus_sources(rule_count: int) -> list[str]:
    return [f"com.shop.svc{i:04d}" for i in range(max(1, rule_count // RULES_PER_SOURCE))]


def random_ip(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.5:
        return f"10.{rng.randrange(8)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    if r < 0.65:
        return f"192.168.{rng.randrange(4)}.{rng.randrange(1, 255)}"
    if r < 0.8:
        return f"172.{rng.randrange(16, 20)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    return f"{rng.choice(['203.0.113', '198.51.100'])}.{rng.randrange(1, 255)}"


def make_event(rng: random.Random, sources: Sequence[str]) -> dict[str, Any]:
    source = rng.choice(sources) if rng.random() < 0.85 else rng.choice(OTHER_SOURCES)
    region = rng.choice(REGIONS)
    account = f"{rng.randrange(10**11, 10**12)}"
    state = rng.choice(STATES)
    name = rng.choice(FIRST_NAMES)
    items = [
        {
            "sku": f"{rng.choice(SKU_FAMILIES)}-{rng.randrange(10_000):04d}",
            "qty": rng.choice([1, 1, 1, 2, 2, 3, 5, 10]),
            "price": round(rng.uniform(1, 400), 2),
        }
        for _ in range(rng.randint(1, 4))
    ]
    detail: dict[str, Any] = {
        "state": state,
        "user": {
            "name": name,
            "email": f"{name}{rng.randrange(100)}@{rng.choice(MAIL_DOMAINS)}",
            "type": rng.choice(USER_TYPES),
            "tier": rng.choice(TIERS),
            "mfa": rng.random() < 0.6,
        },
        "order": {
            "id": f"ord-{rng.getrandbits(40):010x}",
            "total": round(rng.lognormvariate(4.5, 1.0), 2),
            "currency": rng.choice(CURRENCIES),
            "items": items,
        },
        "request": {
            "sourceIPAddress": random_ip(rng),
            "userAgent": rng.choice(AGENTS),
            "path": f"{rng.choice(API_PATHS)}/{rng.randrange(10**6)}",
            "method": rng.choice(METHODS),
            "status": rng.choice([200, 200, 200, 201, 204, 400, 403, 404, 429, 500, 503]),
        },
        "metrics": {
            "latencyMs": int(rng.lognormvariate(4.0, 1.0)),
            "retries": rng.choice([0, 0, 0, 0, 1, 1, 2, 3, 5]),
            "score": round(rng.random(), 4),
        },
        "tags": rng.sample(TAGS, rng.randint(1, 4)),
    }
    if rng.random() < 0.5:
        detail["previousState"] = rng.choice(STATES)
    if rng.random() < 0.3:
        detail["order"]["coupon"] = f"SAVE{rng.choice([5, 10, 15, 20])}"
    if state in ("failed", "cancelled") or rng.random() < 0.1:
        detail["errorCode"] = rng.choice(ERROR_CODES)
    if rng.random() < 0.6:
        detail["priority"] = rng.randint(1, 5)
    return {
        "version": "0",
        "id": f"{rng.getrandbits(128):032x}",
        "detail-type": rng.choice(DETAIL_TYPES),
        "source": source,
        "account": account,
        "time": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T"
        f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}Z",
        "region": region,
        "resources": [
            f"arn:aws:svc:{region}:{account}:resource/r-{rng.getrandbits(32):08x}"
            for _ in range(rng.randint(1, 3))
        ],
        "detail": detail,
    }


def leaf_count(value: Any) -> int:
    if isinstance(value, dict):
        return sum(leaf_count(v) for v in value.values())
    if isinstance(value, list):
        return sum(leaf_count(v) for v in value)
    return 1


# One condition per operator family: (family, function returning a pattern fragment).
def _exact(rng: random.Random) -> dict[str, Any]:
    if rng.random() < 0.5:
        return {"detail": {"state": rng.sample(STATES, rng.randint(1, 3))}}
    return {"region": rng.sample(REGIONS, rng.randint(1, 3))}


def _prefix(rng: random.Random) -> dict[str, Any]:
    return {"detail": {"request": {"path": [{"prefix": rng.choice(API_PATHS[:5])}]}}}


def _suffix(rng: random.Random) -> dict[str, Any]:
    return {"detail": {"user": {"email": [{"suffix": "@" + rng.choice(MAIL_DOMAINS)}]}}}


def _ignore_case(rng: random.Random) -> dict[str, Any]:
    if rng.random() < 0.6:
        return {
            "detail": {"order": {"currency": [{"equals-ignore-case": rng.choice(["usd", "EUR"])}]}}
        }
    return {"detail": {"user": {"tier": [{"equals-ignore-case": rng.choice(["pro", "Free"])}]}}}


def _wildcard(rng: random.Random) -> dict[str, Any]:
    if rng.random() < 0.6:
        shape = rng.choice(["/api/*/orders/*", "/api/v1/*", "*/carts/*", "/api/v*/users/*"])
        return {"detail": {"request": {"path": [{"wildcard": shape}]}}}
    return {
        "detail": {"request": {"userAgent": [{"wildcard": rng.choice(["aws-cli/*", "*Linux*"])}]}}
    }


def _anything_but(rng: random.Random) -> dict[str, Any]:
    r = rng.random()
    if r < 0.5:
        return {"detail": {"state": [{"anything-but": rng.sample(STATES, rng.randint(1, 3))}]}}
    if r < 0.75:
        return {"detail": {"request": {"path": [{"anything-but": {"prefix": "/internal"}}]}}}
    return {"detail": {"request": {"status": [{"anything-but": [500, 503]}]}}}


def _numeric(rng: random.Random) -> dict[str, Any]:
    r = rng.random()
    if r < 0.5:
        lo = rng.choice([0, 25, 50, 100, 250])
        return {"detail": {"order": {"total": [{"numeric": [">", lo, "<=", lo * 4 + 100]}]}}}
    if r < 0.8:
        return {
            "detail": {"metrics": {"latencyMs": [{"numeric": [">=", rng.choice([50, 100, 200])]}]}}
        }
    return {"detail": {"priority": [{"numeric": ["=", rng.randint(1, 5)]}]}}


def _exists(rng: random.Random) -> dict[str, Any]:
    if rng.random() < 0.5:
        return {"detail": {"errorCode": [{"exists": True}]}}
    return {"detail": {"order": {"coupon": [{"exists": False}]}}}


def _cidr(rng: random.Random) -> dict[str, Any]:
    net = rng.choice(
        ["10.0.0.0/13", "10.0.0.0/14", "10.4.0.0/15", "192.168.0.0/16", "172.16.0.0/12"]
    )
    return {"detail": {"request": {"sourceIPAddress": [{"cidr": net}]}}}


def _or(rng: random.Random) -> dict[str, Any]:
    return {
        "$or": [
            {"detail": {"state": rng.sample(["failed", "cancelled", "refunded"], 2)}},
            {"detail": {"metrics": {"retries": [{"numeric": [">", rng.choice([0, 1, 2])]}]}}},
            {"detail": {"user": {"type": ["Root"]}}},
        ][: rng.choice([2, 3])]
    }


def _array_objects(rng: random.Random) -> dict[str, Any]:
    # Two fields of one element of detail.order.items (array consistency applies).
    return {
        "detail": {
            "order": {
                "items": {
                    "sku": [{"prefix": rng.choice(SKU_FAMILIES) + "-"}],
                    "qty": [{"numeric": [">=", rng.choice([2, 3, 5])]}],
                }
            }
        }
    }


def _nested_literal(rng: random.Random) -> dict[str, Any]:
    return {"detail": {"user": {"mfa": [rng.random() < 0.5], "type": rng.sample(USER_TYPES, 2)}}}


FAMILIES: list[tuple[str, Callable[[random.Random], dict[str, Any]]]] = [
    ("exact", _exact),
    ("prefix", _prefix),
    ("suffix", _suffix),
    ("equals-ignore-case", _ignore_case),
    ("wildcard", _wildcard),
    ("anything-but", _anything_but),
    ("numeric", _numeric),
    ("exists", _exists),
    ("cidr", _cidr),
    ("$or", _or),
    ("arrays of objects", _array_objects),
    ("nested booleans", _nested_literal),
]


def _merge(into: dict[str, Any], fragment: dict[str, Any]) -> None:
    for key, value in fragment.items():
        if isinstance(value, dict) and key != "$or" and isinstance(into.get(key), dict):
            _merge(into[key], value)
        elif key not in into:
            into[key] = value


def make_rule(rng: random.Random, sources: Sequence[str]) -> dict[str, Any]:
    pattern: dict[str, Any] = {"source": [rng.choice(sources)]}
    if rng.random() < 0.4:
        pattern["detail-type"] = rng.sample(DETAIL_TYPES, rng.randint(1, 3))
    for _ in range(rng.choice([1, 1, 2, 2, 3])):
        _, family = rng.choice(FAMILIES)
        _merge(pattern, family(rng))
    return pattern


def uses_arrays_of_objects(pattern: dict[str, Any]) -> bool:
    return '"items":' in json.dumps(pattern)


class Bus:
    def __init__(self, size: int, seed: int, events: int) -> None:
        rng = random.Random(seed * 1_000_003 + size)
        sources = bus_sources(size)
        self.size = size
        self.patterns = [make_rule(rng, sources) for _ in range(size)]
        self.compiled = [(i, EventPattern(p)) for i, p in enumerate(self.patterns)]
        start = time.perf_counter()
        self.index = RuleIndex()
        for rule_id, compiled in self.compiled:
            self.index.add(rule_id, compiled)
        self.index_build = time.perf_counter() - start
        self.events = [make_event(rng, sources) for _ in range(events)]
        self.moto: list[tuple[int, Any]] = []
        self.moto_excluded: Counter[str] = Counter()

    # the four matchers, each returning the ids of the matching rules
    def match_index(self, event: dict[str, Any]) -> set[int]:
        return self.index.matching(event)

    def match_linear(self, event: dict[str, Any]) -> set[int]:
        return {rule_id for rule_id, p in self.compiled if p.matches(event)}

    def match_moto(self, event: dict[str, Any]) -> set[int]:
        return {rule_id for rule_id, p in self.moto if p.matches_event(event)}

    def match_moto_core(self, event: dict[str, Any]) -> set[int]:
        flat = MotoEventPattern._flatten_dict(json.loads(json.dumps(event)))
        return {rule_id for rule_id, p in self.moto if p._does_event_match(flat, p._pattern)}

    def load_moto(self, check_events: Sequence[dict[str, Any]]) -> None:
        """moto's EventPattern for every rule it supports (see the module docstring)."""
        candidates = []
        for rule_id, pattern in enumerate(self.patterns):
            if uses_arrays_of_objects(pattern):
                self.moto_excluded["field inside an array of objects"] += 1
                continue
            try:
                candidates.append((rule_id, MotoEventPattern.load(json.dumps(pattern))))
            except Exception:
                self.moto_excluded["moto raised on load"] += 1
        compiled = dict(self.compiled)
        for rule_id, moto_pattern in candidates:
            ours = compiled[rule_id]
            try:
                agrees = all(moto_pattern.matches_event(e) == ours.matches(e) for e in check_events)
            except Exception:
                self.moto_excluded["moto raised on match"] += 1
                continue
            if agrees:
                self.moto.append((rule_id, moto_pattern))
            else:
                self.moto_excluded["moto disagreed with EventPattern"] += 1


def check_bus(bus: Bus, events: Sequence[dict[str, Any]]) -> tuple[int, int]:
    """Abort unless RuleIndex.matching equals the linear EventPattern scan on ``events``."""
    matches = 0
    for number, event in enumerate(events):
        want = bus.match_linear(event)
        got = bus.match_index(event)
        if got != want:
            sys.exit(
                f"\nCORRECTNESS FAILURE at {bus.size} rules, event #{number}:\n"
                f"  RuleIndex.matching only: {sorted(got - want)}\n"
                f"  EventPattern.matches only: {sorted(want - got)}\n"
                f"  event: {json.dumps(event)}\n"
                + "".join(
                    f"  rule {r}: {json.dumps(bus.patterns[r])}\n" for r in sorted(got ^ want)[:5]
                )
            )
        matches += len(want)
    return len(events), matches


def run_buses(args: argparse.Namespace) -> list[dict[str, Any]]:
    buses: list[Bus] = []
    rows: list[dict[str, Any]] = []
    for size in SIZES:
        log(f"[buses] {size} rules: building")
        bus = Bus(size, args.seed, args.events)
        build = bus.index_build
        # About args.check_pairs (event, rule) evaluations, at least 20 events.
        checked = bus.events[: max(20, min(args.check_events, args.check_pairs // size))]
        log(f"[buses] {size} rules: checking RuleIndex against EventPattern, {len(checked)} events")
        n_checked, _ = check_bus(bus, checked)
        if MotoEventPattern is not None:
            bus.load_moto(bus.events[: max(3, min(args.moto_check_pairs // size, 40))])
        row: dict[str, Any] = {"size": size, "build": build, "checked": n_checked}
        matched = [len(bus.match_index(e)) for e in bus.events]
        fields = [leaf_count(e) for e in bus.events]
        row["fields"] = statistics.mean(fields)
        row["fields_min"] = min(fields)
        row["fields_max"] = max(fields)
        row["hit_rate"] = sum(1 for m in matched if m) / len(matched)
        row["matches"] = statistics.mean(matched)
        row["matches_when_hit"] = statistics.mean([m for m in matched if m] or [0])
        row["events"] = len(bus.events)
        if MotoEventPattern is not None:
            row["moto_rules"] = len(bus.moto)
            row["moto_excluded"] = dict(bus.moto_excluded)
        buses.append(bus)
        rows.append(row)

    # Every bus and matcher is timed pass by pass in turn (round-robin), so that other load
    # on the machine, if any, spreads over all the columns rather than a few of them.
    gc.collect()
    gc.freeze()
    plans: list[Plan] = []
    for bus, row in zip(buses, rows, strict=True):
        events = bus.events
        matchers = [
            ("index", bus.match_index, args.repeats, args.index_budget, 500),
            ("linear", bus.match_linear, args.peer_repeats, args.budget, 8),
        ]
        if MotoEventPattern is not None:
            # moto gets a fixed number of events per bus, whatever the machine's speed, so
            # every run compares the index and moto on the same events.
            moto_events = max(5, min(len(events), args.moto_pairs // bus.size))
            matchers.append(("moto", bus.match_moto, args.peer_repeats, None, moto_events))
            matchers.append(("moto_core", bus.match_moto_core, args.peer_repeats, args.budget, 5))
        for key, fn, repeats, budget, minimum in matchers:
            if budget is None:
                sample = list(events[:minimum])
            else:
                sample = sample_for_budget(fn, events, budget, minimum)
            row[f"{key}_n"] = len(sample)
            plans.append(Plan(row, key, fn, sample, repeats))
            if key == "moto":
                # The speed-up over moto compares both on the very same events: a few
                # dozen events differ in how many rules they touch, so the index's rate
                # over 3,000 events is not the right denominator.
                plans.append(Plan(row, "index_on_moto", bus.match_index, sample, args.repeats))
    log(f"[buses] timing {len(plans)} matcher/bus pairs, round-robin")
    run_plans(plans)
    gc.unfreeze()
    del buses, plans
    gc.collect()
    return rows


# --- part 2: city lots --------------------------------------------------------------

# San Francisco street names, roughly by how many lots front them.
STREETS = (
    ["UNKNOWN"] * 3
    + ["MISSION", "FOLSOM", "HARRISON", "BRYANT", "JACKSON", "WASHINGTON", "CLAY", "SACRAMENTO"] * 3
    + ["CALIFORNIA", "PINE", "BUSH", "SUTTER", "POST", "GEARY", "OFARRELL", "ELLIS", "EDDY"] * 2
    + ["FULTON", "MASON", "HYDE", "LARKIN", "POLK", "JEFFERSON", "BEACH", "CHESTNUT", "LOMBARD"] * 2
    + ["FUNSTON", "FOERSTER", "ACADIA", "ACTON", "BLAKE", "BLANKEN", "BLUXOME", "DRUMM"]
    + ["DRAKE", "RHODE ISLAND", "KING", "STERLING", "FARGO", "SAN DIEGO", "CHICAGO", "LAKE"]
    + ["CLAYTON", "TAYLOR", "JONES", "LEAVENWORTH", "FILLMORE", "DIVISADERO", "BRODERICK"]
    + ["03RD", "04TH", "16TH", "24TH", "ANZA", "BALBOA", "CABRILLO", "IRVING", "JUDAH", "NORIEGA"]
    + ["QUINTARA", "SANTIAGO", "TARAVAL", "ULLOA", "VICENTE", "WAWONA", "GREAT HIGHWAY"]
)
ST_TYPES = ["ST"] * 11 + ["AVE"] * 5 + ["BLVD", "WAY", "TER", "DR", "CT", "PL", "LN", None, None]

CITY_RULES: dict[str, list[dict[str, Any]]] = {
    # Exact values on properties (one MAPBLKLOT as in Benchmarks.java, STREET values).
    "exact": [
        {"properties": {"STREET": ["JEFFERSON"]}},
        {"properties": {"STREET": ["FOERSTER"]}},
        {"properties": {"STREET": ["MASON"]}},
        {"properties": {"MAPBLKLOT": ["1430022"]}},
        {"properties": {"BLOCK_NUM": ["2607"]}},
    ],
    # Benchmarks.java PREFIX_RULES, SUFFIX_RULES and EQUALS_IGNORE_CASE_RULES verbatim.
    "prefix": [{"properties": {"STREET": [{"prefix": p}]}} for p in ("AC", "BL", "DR", "FU", "RH")],
    "suffix": [
        {"properties": {"STREET": [{"suffix": s}]}} for s in ("ON", "KE", "MM", "ING", "GO")
    ],
    "equals-ignore-case": [
        *(
            {"properties": {"STREET": [{"equals-ignore-case": s}]}}
            for s in ("jefferson", "bEaCh", "HyDe", "CHESTNUT")
        ),
        {"properties": {"ST_TYPE": [{"equals-ignore-case": "st"}]}},
    ],
    # Benchmarks.java WILDCARD_RULES are on MAPBLKLOT; three of them, two on STREET.
    "wildcard": [
        {"properties": {"MAPBLKLOT": [{"wildcard": "143*"}]}},
        {"properties": {"MAPBLKLOT": [{"wildcard": "2*0*1*7"}]}},
        {"properties": {"MAPBLKLOT": [{"wildcard": "*218"}]}},
        {"properties": {"STREET": [{"wildcard": "*ST*"}]}},
        {"properties": {"STREET": [{"wildcard": "SAN *"}]}},
    ],
    # Benchmarks.java NUMERIC_RULES, on the original citylots' nested coordinate arrays
    # (longitude, latitude, 0 per point) instead of citylots2's firstCoordinates objects.
    "numeric": [
        {"geometry": {"type": ["Polygon"], "coordinates": [{"numeric": ["=", "LON0"]}]}},
        {"geometry": {"type": ["MultiPolygon"], "coordinates": [{"numeric": ["=", 0]}]}},
        {"geometry": {"coordinates": [{"numeric": ["<", -122.41600944012424]}]}},
        {"geometry": {"coordinates": [{"numeric": [">", 37.77, "<", 37.78]}]}},
        {
            "geometry": {
                "coordinates": [{"numeric": [">", -122.46471267081272, "<", -122.4063085128395]}]
            }
        },
    ],
    # Benchmarks.java NUMERIC_RULES verbatim, on citylots2's geometry.firstCoordinates
    # {x, y, z} object: the workload behind event-ruler's published numeric figure.
    "numeric-first": [
        {
            "geometry": {
                "type": ["Polygon"],
                "firstCoordinates": {"x": [{"numeric": ["=", "LON0"]}]},
            }
        },
        {
            "geometry": {
                "type": ["MultiPolygon"],
                "firstCoordinates": {"z": [{"numeric": ["=", 0]}]},
            }
        },
        {"geometry": {"firstCoordinates": {"x": [{"numeric": ["<", -122.41600944012424]}]}}},
        {"geometry": {"firstCoordinates": {"x": [{"numeric": [">", -122.41600944012424]}]}}},
        {
            "geometry": {
                "firstCoordinates": {
                    "x": [{"numeric": [">", -122.46471267081272, "<", -122.4063085128395]}]
                }
            }
        },
    ],
    # Benchmarks.java ANYTHING_BUT_RULES verbatim.
    "anything-but": [
        {"properties": {"STREET": [{"anything-but": ["FULTON"]}]}},
        {"properties": {"STREET": [{"anything-but": ["MASON"]}]}},
        {"properties": {"ST_TYPE": [{"anything-but": ["ST"]}]}},
        {"geometry": {"type": [{"anything-but": ["Polygon"]}]}},
        {"properties": {"FROM_ST": [{"anything-but": ["441"]}]}},
    ],
}
CITY_ORDER = [
    "exact",
    "prefix",
    "suffix",
    "equals-ignore-case",
    "wildcard",
    "numeric-first",
    "numeric",
    "anything-but",
]
CITY_LABELS = {
    "numeric-first": "numeric on firstCoordinates x/y/z (Benchmarks.java's shape)",
    "numeric": "numeric on the coordinates arrays ([[[lon, lat, 0], ...]])",
    "combined": "all families combined",
}


def make_lot(rng: random.Random) -> dict[str, Any]:
    block = rng.randrange(1, 7600)
    block_num = f"{block:04d}" + ("A" if rng.random() < 0.02 else "")
    lot_num = f"{rng.randrange(1, 160):03d}"
    mapblklot = "VACSTWIL" if rng.random() < 0.001 else block_num + lot_num
    start = rng.randrange(0, 4000, 2)
    lon = rng.uniform(-122.512, -122.357)
    lat = rng.uniform(37.708, 37.811)
    points = rng.randint(5, 19)
    ring = [
        [lon + rng.uniform(-4e-4, 4e-4), lat + rng.uniform(-4e-4, 4e-4), 0.0]
        for _ in range(points - 1)
    ]
    ring.append(ring[0])
    multi = rng.random() < 0.03
    return {
        "type": "Feature",
        "properties": {
            "MAPBLKLOT": mapblklot,
            "BLKLOT": mapblklot,
            "BLOCK_NUM": block_num,
            "LOT_NUM": lot_num,
            "FROM_ST": str(start),
            "TO_ST": str(start + rng.choice([0, 0, 2, 4, 10, 20])),
            "STREET": rng.choice(STREETS),
            "ST_TYPE": rng.choice(ST_TYPES),
            "ODD_EVEN": "O" if start % 4 else "E",
        },
        "geometry": {
            "type": "MultiPolygon" if multi else "Polygon",
            "coordinates": [[ring]] if multi else [ring],
            # citylots2 carries the first point again as an object.
            "firstCoordinates": dict(zip("xyz", ring[0], strict=True)),
        },
    }


def run_city_lots(args: argparse.Namespace) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    rng = random.Random(args.seed)
    lots = [make_lot(rng) for _ in range(args.lots)]
    # Like the original citylots file: one JSON object per line, with spaces.
    lines = [json.dumps(lot).encode() for lot in lots]
    polygon = next(lot for lot in lots[7:] if lot["geometry"]["type"] == "Polygon")
    lon0 = polygon["geometry"]["coordinates"][0][0][0]
    rules = json.loads(json.dumps(CITY_RULES).replace('"LON0"', repr(lon0)))
    info = {
        "lots": len(lines),
        "bytes": statistics.mean(len(line) for line in lines),
        "bytes_min": min(len(line) for line in lines),
        "bytes_max": max(len(line) for line in lines),
    }
    families = [*CITY_ORDER, "combined"]
    rows = []
    plans = []
    for family in families:
        patterns = (
            [p for f in CITY_ORDER for p in rules[f]] if family == "combined" else rules[family]
        )
        index = RuleIndex()
        compiled = [(i, EventPattern(p)) for i, p in enumerate(patterns)]
        for rule_id, pattern in compiled:
            index.add(rule_id, pattern)
        # Correctness first (from JSON text, like the timed run).
        log(f"[citylots] {family}: checking RuleIndex against EventPattern")
        counts: Counter[int] = Counter()
        check = lines[: args.check_lots]
        for number, line in enumerate(check):
            want = {rule_id for rule_id, p in compiled if p.matches(line)}
            got = index.matching(line)
            if got != want:
                sys.exit(
                    f"\nCORRECTNESS FAILURE in city lots ({family}), lot #{number}: "
                    f"RuleIndex {sorted(got)} != EventPattern {sorted(want)}\n  {line.decode()}"
                )
            counts.update(want)
        row = {
            "family": family,
            "rules": len(patterns),
            "counts": [counts[i] for i in range(len(patterns))],
            "checked": len(check),
        }
        rows.append(row)
        sample = sample_for_budget(index.matching, lines, args.index_budget, 2_000)
        row["timed"] = len(sample)
        plans.append(Plan(row, "per_event", index.matching, sample, args.repeats))
    # Parse alone, for scale.
    plans.append(Plan(info, "parse", orjson.loads, lines, args.repeats))
    gc.collect()
    gc.freeze()
    log(f"[citylots] timing {len(plans)} rule sets from JSON text, round-robin")
    run_plans(plans)
    gc.unfreeze()
    return rows, info


# --- report -------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def fmt_rate(seconds_per_event: float) -> str:
    rate = 1 / seconds_per_event
    if rate >= 100:
        return f"{rate:,.0f}"
    if rate >= 1:
        return f"{rate:,.1f}"
    return f"{rate:.3f}"


BUSY = 0.9  # CPU share below which a figure is marked as slowed by other processes


def rate(row: dict[str, Any], key: str) -> str:
    """Events per second for ``row[key]``, marked † if its pass did not have a core."""
    mark = " †" if row.get(f"{key}_share", 1.0) < BUSY else ""
    return fmt_rate(row[key]) + mark


def busy_mark(row: dict[str, Any], *keys: str) -> str:
    return " †" if any(row.get(f"{k}_share", 1.0) < BUSY for k in keys) else ""


def fmt_us(seconds: float) -> str:
    us = seconds * 1e6
    if us >= 1000:
        return f"{us:,.0f}"
    return f"{us:.1f}" if us >= 10 else f"{us:.2f}"


def fmt_x(ratio: float) -> str:
    return f"{ratio:,.0f}x" if ratio >= 100 else f"{ratio:,.1f}x"


def report(args: argparse.Namespace, buses: list[dict[str, Any]], city: Any) -> None:
    out: list[str] = []
    say = out.append

    say("## Routing benchmark")
    say("")
    python = sys.executable.replace(str(ROOT) + "/", "")
    say(f"- Command: `{' '.join(shlex.quote(a) for a in [python, *sys.argv])}`")
    say(
        f"- Machine: {cpu_model()}, {os.cpu_count()} cores; "
        f"{platform.python_implementation()} {platform.python_version()} on {platform.system()}"
    )
    versions = f"orjson {orjson.__version__}"
    if moto is not None:
        versions += f", moto {moto.__version__}"
    say(
        f"- Libraries: {versions}; seed {args.seed}"
        f"{'; QUICK smoke run, numbers are rough' if args.quick else ''}"
    )
    say(
        f"- Timing: `time.perf_counter`, warm-up, then best of {args.repeats} passes "
        f"(RuleIndex) / best of {args.peer_repeats} (linear scans, moto), each pass at least "
        f"{MIN_PASS:g} s (a short sample is gone over several times); all matchers of a part "
        "timed round-robin; one process, one thread, GC on."
    )
    share = min(CPU_SHARE) if CPU_SHARE else 1.0
    busy = (
        " **Other processes took CPU time during some passes: figures marked † are "
        "inflated by up to 1 / their CPU share; rerun on an idle machine before quoting them.**"
        if share < BUSY
        else ""
    )
    say(
        f"- Load average (1 min) before / after: {args.load_before[0]:.2f} / "
        f"{args.load_after[0]:.2f}; CPU share of the reported passes (process CPU time / "
        f"wall time): median {statistics.median(CPU_SHARE or [1]):.0%}, lowest {share:.0%}." + busy
    )
    say("")

    if buses:
        b0 = buses[0]
        say("### Mixed-operator buses (events as dicts)")
        say("")
        say(
            "Rules mix exact, prefix, suffix, equals-ignore-case, wildcard, anything-but, "
            "numeric, exists, cidr, `$or`, nested fields and fields inside arrays of objects, "
            "about "
            f"{RULES_PER_SOURCE} rules per event source. Events are EventBridge-shaped, "
            f"{b0['fields_min']}-{b0['fields_max']} leaf fields (mean {b0['fields']:.0f}), nested "
            "`detail`, arrays of strings and of objects; 15% come from sources no rule names."
        )
        say("")
        say(
            "| Rules | RuleIndex events/s | RuleIndex µs/event | our linear scan events/s | "
            "moto linear scan events/s | moto, flattened once per event, events/s | "
            "RuleIndex speed-up over moto | RuleIndex speed-up over our linear scan |"
        )
        say("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in buses:
            moto_cells = ["not installed", "not installed", "n/a"]
            if "moto" in r:
                moto_cells = [
                    f"{rate(r, 'moto')} ({r['moto_n']:,} events, {r['moto_rules']:,} rules)",
                    f"{rate(r, 'moto_core')} ({r['moto_core_n']:,} events)",
                    fmt_x(r["moto"] / r["index_on_moto"]),
                ]
            say(
                f"| {r['size']:,} | {rate(r, 'index')} ({r['index_n']:,} events) | "
                f"{fmt_us(r['index'])} | "
                f"{rate(r, 'linear')} ({r['linear_n']:,} events) | {moto_cells[0]} | "
                f"{moto_cells[1]} | {moto_cells[2]} | {fmt_x(r['linear'] / r['index'])} |"
            )
        say("")
        say(
            f"Each bus has a random stream of {buses[0]['events']:,} events; every matcher is "
            "timed on the first N of them (N in brackets: sized to a time budget, small for "
            f"the slow linear scans at 1,000 and 10,000 rules; for moto {args.moto_pairs:,} "
            "event x rule pairs), and events per second are extrapolated from that sample's "
            "per-event cost. The speed-up over moto is RuleIndex and moto timed on the same N "
            "events."
        )
        say("")
        if "moto" in buses[0]:
            excluded = Counter()
            for r in buses:
                excluded.update(r["moto_excluded"])
            reasons = ", ".join(f"{k}: {v:,}" for k, v in excluded.most_common()) or "none"
            say(
                f"moto scans only the rules it supports, so it does less work than the other "
                f"two (its time is not scaled back up). Rules left out, all sizes together: "
                f"{reasons}. moto does not descend into arrays of objects and, per call, "
                "round-trips the event through `json.dumps`/`json.loads` and flattens it; the "
                '"flattened once per event" column runs moto\'s own matcher on an event '
                "flattened once (moto's private `_flatten_dict`/`_does_event_match`), i.e. "
                "without that per-rule overhead."
            )
        say("")
        say(
            "| Rules | events | events matching ≥1 rule | matches per event | "
            "matches per matching event | RuleIndex.add of all rules (ms) | "
            "events checked against EventPattern |"
        )
        say("|---:|---:|---:|---:|---:|---:|---:|")
        for r in buses:
            say(
                f"| {r['size']:,} | {r['events']:,} | {r['hit_rate']:.0%} | {r['matches']:.2f} | "
                f"{r['matches_when_hit']:.2f} | {r['build'] * 1000:,.1f} | "
                f"{r['checked']} (all equal) |"
            )
        say("")

    if city:
        rows, info = city
        say("### City lots (event-ruler's benchmark shape, JSON text in, parse included)")
        say("")
        say(
            f"{info['lots']:,} generated GeoJSON city-lot features, {info['bytes_min']}-"
            f"{info['bytes_max']} bytes (mean {info['bytes']:.0f}); event-ruler's run uses "
            f"213,068 real ones averaging ~900 bytes. Five rules per family, shaped like "
            f"Benchmarks.java's. orjson parsing alone: {fmt_us(info['parse'])} µs/event "
            f"({fmt_rate(info['parse'])}/s)."
        )
        say("")
        say(
            "| Family | RuleIndex events/s | µs/event | lots timed | "
            "event-ruler published events/s | event-ruler speed ÷ RuleIndex speed | "
            f"matches per rule in the first {rows[0]['checked']:,} lots |"
        )
        say("|---|---:|---:|---:|---:|---:|---|")
        for r in rows:
            published = PUBLISHED_BY_FAMILY.get(r["family"])
            pub = f"{published:,}" if published else "n/a"
            ratio = fmt_x(published * r["per_event"]) if published else "n/a"
            name = CITY_LABELS.get(r["family"], r["family"])
            if r["family"] == "combined":
                name = f"all {r['rules']} rules combined"
            say(
                f"| {name} | {rate(r, 'per_event')} | {fmt_us(r['per_event'])} | "
                f"{r['timed']:,} | {pub} | "
                f"{ratio} | {', '.join(f'{c:,}' for c in r['counts'][:7])}"
                f"{'…' if len(r['counts']) > 7 else ''} |"
            )
        say("")
        say(
            'event-ruler\'s figures are from its README ("over 220K/second" for exact matches, '
            "170K wildcard, 150K anything-but, 120K numeric; a 2019 MacBook, Java). The README "
            "also gives "
            + "; ".join(f"{k}: {v}" for k, v in README_ALSO.items())
            + "; this table compares against the four figures only. Its 120K numeric figure "
            "is for rules on citylots2's `firstCoordinates` object (3 numbers); numeric rules on "
            "the coordinate arrays (about 40 numbers, in arrays of arrays) are closer to what "
            'its README calls "complex array matches", over 2.5K/s. RuleIndex results were '
            f"checked against EventPattern.matches on the first {rows[0]['checked']:,} lots "
            "of every family (the match counts above come from that check)."
        )
        say("")

    say("### Targets")
    say("")
    say("| Target | Measured | Met |")
    say("|---|---|---|")
    if buses:
        by_size = {r["size"]: r for r in buses}
        if "moto" in by_size.get(1_000, {}):
            r = by_size[1_000]
            ratio = r["moto"] / r["index_on_moto"]
            say(
                f"| RuleIndex ≥ {TARGET_VS_MOTO:,}x moto at 1,000 rules | {fmt_x(ratio)}"
                f"{busy_mark(r, 'moto', 'index_on_moto')} "
                f"(both on the same {r['moto_n']:,} events; vs moto flattened once per event: "
                f"{fmt_x(r['moto_core'] / r['index'])}) | "
                f"{'yes' if ratio >= TARGET_VS_MOTO else 'NO'} |"
            )
        if 10 in by_size and 10_000 in by_size:
            flat = by_size[10_000]["index"] / by_size[10]["index"]
            mark = busy_mark(by_size[10], "index") or busy_mark(by_size[10_000], "index")
            say(
                f"| RuleIndex µs/event at 10,000 rules ≤ {TARGET_FLATNESS:g}x at 10 rules | "
                f"{fmt_us(by_size[10_000]['index'])} / {fmt_us(by_size[10]['index'])} µs = "
                f"{flat:.2f}x{mark} | {'yes' if flat <= TARGET_FLATNESS else 'NO'} |"
            )
    if city:
        for r in city[0]:
            published = PUBLISHED_BY_FAMILY.get(r["family"])
            if published:
                ratio = published * r["per_event"]
                label = CITY_LABELS.get(r["family"], r["family"])
                say(
                    f"| city lots {label} within {TARGET_VS_RULER:g}x of event-ruler "
                    f"({published // 1000}K/s) | {fmt_rate(r['per_event'])}/s"
                    f"{busy_mark(r, 'per_event')}, "
                    f"{ratio:.1f}x slower | {'yes' if ratio <= TARGET_VS_RULER else 'NO'} |"
                )
    say("")
    print("\n".join(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fast smoke run (rough numbers)")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--only", choices=["buses", "citylots"], help="run one part")
    args = parser.parse_args()
    if args.quick:
        args.events, args.repeats, args.peer_repeats = 500, 2, 1
        args.budget, args.moto_pairs, args.index_budget = 0.15, 6_000, 0.3
        args.check_events, args.check_pairs, args.moto_check_pairs = 60, 20_000, 2_000
        args.lots, args.check_lots = 2_000, 300
    else:
        args.events, args.repeats, args.peer_repeats = 3_000, 5, 3
        args.budget, args.moto_pairs, args.index_budget = 0.6, 40_000, 1.0
        args.check_events, args.check_pairs, args.moto_check_pairs = 300, 150_000, 40_000
        args.lots, args.check_lots = 20_000, 2_000
    if MotoEventPattern is None:
        log("moto is not installed: .venv/bin/python -m pip install -r bench/requirements.txt")
    started = time.perf_counter()
    args.load_before = os.getloadavg()
    buses = run_buses(args) if args.only != "citylots" else []
    city = run_city_lots(args) if args.only != "buses" else None
    args.load_after = os.getloadavg()
    report(args, buses, city)
    log(f"done in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
