"""A capacity plan from a rehearsal: replicas, cores to request as quota, and the cost of a contest
at Azure Container Apps' Consumption prices."""

import math
from dataclasses import asdict, dataclass
from typing import Any

PRICES_SOURCE = (
    "Azure Container Apps pricing page (azure.microsoft.com/pricing/details/container-apps), "
    "Consumption plan, pay-as-you-go, USD; free monthly grants (180,000 vCPU-s, 360,000 GiB-s, "
    "2 million requests) not deducted. Prices vary by region and change: pass yours."
)


@dataclass(frozen=True)
class Prices:
    """USD per unit, ACA Consumption plan (see PRICES_SOURCE). A replica kept at min_replicas
    with no request is billed at the idle rates; a contest keeps replicas busy: the plan uses the
    active rates."""

    vcpu_second_active: float = 0.000024
    gib_second_active: float = 0.000003
    vcpu_second_idle: float = 0.000003
    gib_second_idle: float = 0.000003
    per_million_requests: float = 0.40


@dataclass(frozen=True)
class Contest:
    """What the plan is for.

    submissions      how many must be answered within target_s (e.g. the opening burst: every
                     student's first submission)
    target_s         within how long, seconds
    hours            how long replicas are held up (contest mode: min_replicas for the contest)
    total_requests   submissions of the whole contest (request charges)
    shares           language → share of the submissions
    """

    submissions: int
    target_s: float
    hours: float
    total_requests: int
    shares: dict[str, float]


@dataclass(frozen=True)
class Replica:
    """The replica size: vCPU and GiB (0.5 and 1 by default, as the images are measured)."""

    vcpu: float = 0.5
    gib: float = 1.0


def plan(
    *,
    contest: Contest,
    per_replica_per_s: dict[str, float],
    replica: Replica,
    prices: Prices,
    headroom: float = 1.25,
) -> dict[str, Any]:
    """Replicas per language = submissions x share / (per-replica throughput x target) x
    headroom, rounded up; cores = replicas x vCPU; cost = replicas held for the contest at active
    rates plus request charges. Raises ValueError for a language with no measured throughput."""
    languages: dict[str, Any] = {}
    for language, share in contest.shares.items():
        throughput = per_replica_per_s.get(language)
        if not throughput:
            raise ValueError(f"no measured per-replica throughput for {language}")
        needed = contest.submissions * share / (throughput * contest.target_s) * headroom
        languages[language] = {
            "share": round(share, 3),
            "per_replica_per_s": round(throughput, 2),
            "replicas": max(1, math.ceil(needed)),
        }
    replicas = sum(entry["replicas"] for entry in languages.values())
    cores = replicas * replica.vcpu
    per_replica_hour = 3600 * (
        replica.vcpu * prices.vcpu_second_active + replica.gib * prices.gib_second_active
    )
    compute_usd = replicas * per_replica_hour * contest.hours
    requests_usd = contest.total_requests / 1e6 * prices.per_million_requests
    return {
        "contest": asdict(contest),
        "replica": asdict(replica),
        "headroom": headroom,
        "languages": languages,
        "replicas": replicas,
        "cores": cores,
        # The environment's Consumption cores quota (default 100, up to 5,000 on request).
        "quota_cores_to_request": math.ceil(cores),
        "usd_per_replica_hour": round(per_replica_hour, 4),
        "usd_compute": round(compute_usd, 2),
        "usd_requests": round(requests_usd, 2),
        "usd_total": round(compute_usd + requests_usd, 2),
        "prices": asdict(prices),
        "prices_source": PRICES_SOURCE,
    }
