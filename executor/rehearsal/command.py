"""The `executor rehearse` command line. Importing this module imports nothing heavy: httpx, rich
and matplotlib (the ``rehearse`` extra) are imported when the command runs."""

import argparse
import json
import os
import secrets
from pathlib import Path
from typing import Any

from executor.rehearsal.workload import LANGUAGES

DESCRIPTION = """Fire a contest-shaped load at a deployment: STUDENTS x SUBMISSIONS with a mix of
accepted, wrong, slow, memory-hungry, broken and hostile programs in Python, JavaScript and Java;
show progress; report latency, throughput, verdict correctness, retries and errors; draw a PNG
chart; with --replicas-per-language, print a capacity plan at ACA's Consumption prices. Exits 1
when a verdict was wrong or a submission got no answer."""


def register(commands: Any) -> None:
    """Add the ``rehearse`` subcommand to ``commands`` (argparse subparsers)."""
    parser = commands.add_parser(
        "rehearse", help="fire a contest-shaped load at a deployment", description=DESCRIPTION
    )
    target = parser.add_argument_group("target")
    target.add_argument(
        "--url",
        action="append",
        required=True,
        metavar="[LANGUAGE=]URL[,URL...]",
        help="base URL(s) of a language's deployment, or of one serving every language; repeat",
    )
    target.add_argument(
        "--api-key",
        default=os.environ.get("REHEARSAL_API_KEY"),
        help="sent as Authorization: Bearer (default: $REHEARSAL_API_KEY)",
    )
    target.add_argument(
        "--send-tests",
        action="store_true",
        help="send expected_stdout so that a judging service (issue 10) answers with a verdict",
    )
    contest = parser.add_argument_group("contest")
    contest.add_argument("--students", type=int, default=100)
    contest.add_argument("--submissions-per-student", type=int, default=10)
    contest.add_argument("--languages", default=",".join(LANGUAGES), help="comma-separated")
    contest.add_argument("--seed", type=int, default=1, help="same seed, same contest")
    load = parser.add_argument_group("load (one of --concurrency or --rate)")
    load.add_argument("--concurrency", type=int, help="closed loop: submissions in flight")
    load.add_argument("--rate", type=float, help="open loop: submissions per second")
    load.add_argument(
        "--burst", type=int, help="open loop: submissions sent at once first (default: students)"
    )
    load.add_argument(
        "--deadline-s", type=float, default=300.0, help="per submission, retries included"
    )
    out = parser.add_argument_group("output")
    out.add_argument("--chart", type=Path, default=Path("rehearsal.png"), help="PNG to write")
    out.add_argument("--json", type=Path, help="write the summary (and plan) as JSON here")
    out.add_argument("--no-progress", action="store_true", help="no live progress bar")
    plan = parser.add_argument_group("capacity plan (needs --replicas-per-language)")
    plan.add_argument(
        "--replicas-per-language",
        type=int,
        help="replicas that served each language during this rehearsal",
    )
    plan.add_argument(
        "--plan-submissions",
        type=int,
        default=500,
        help="submissions to answer within --plan-target-s (default: 500 students' first)",
    )
    plan.add_argument("--plan-target-s", type=float, default=60.0)
    plan.add_argument(
        "--plan-total-requests",
        type=int,
        default=10_000,
        help="submissions of the whole contest (request charges)",
    )
    plan.add_argument(
        "--per-replica-throughput",
        metavar="LANGUAGE=PER_S,...",
        help="measured elsewhere (one saturated replica per language); default: this run's "
        "throughput per language / replicas, a floor when a language's replicas were not kept busy",
    )
    plan.add_argument("--contest-hours", type=float, default=3.0, help="hours replicas are held")
    plan.add_argument("--replica-vcpu", type=float, default=0.5)
    plan.add_argument("--replica-gib", type=float, default=1.0)
    plan.add_argument("--price-vcpu-second", type=float, help="USD (default: see the plan)")
    plan.add_argument("--price-gib-second", type=float, help="USD (default: see the plan)")
    plan.add_argument("--price-per-million-requests", type=float, help="USD")


def run(args: argparse.Namespace) -> int:
    """Run the rehearsal the arguments describe; 0 when every submission got its right verdict."""
    import asyncio

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from executor.client import RetryPolicy
    from executor.rehearsal import report
    from executor.rehearsal.runner import LoadShape, Rehearsal
    from executor.rehearsal.workload import build

    console = Console()
    if (args.concurrency is None) == (args.rate is None):
        console.print("[red]give exactly one of --concurrency or --rate")
        return 2
    languages = tuple(name.strip() for name in args.languages.split(",") if name.strip())
    submissions = build(
        students=args.students,
        submissions_per_student=args.submissions_per_student,
        seed=args.seed,
        languages=languages,
        # Ids of this run alone: the service keeps answers by id (Idempotency-Key) for
        # EXECUTOR_IDEMPOTENCY_TTL_S, and a second rehearsal would be answered from them.
        id_prefix=f"{secrets.token_hex(4)}-",
    )
    shape = LoadShape(
        concurrency=args.concurrency,
        rate_per_s=args.rate,
        burst=0 if args.rate is None else (args.burst if args.burst is not None else args.students),
    )
    progress = Progress(
        TextColumn("[bold]rehearsal"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=console,
        disable=args.no_progress,
    )
    task = progress.add_task("rehearsal", total=len(submissions), detail="")

    def update(rehearsal: Rehearsal) -> None:
        done = len(rehearsal.outcomes)
        elapsed = max(rehearsal.now_s(), 1e-9)
        wrong = sum(1 for o in rehearsal.outcomes if o.error is None and not o.correct)
        errors = sum(1 for o in rehearsal.outcomes if o.error is not None)
        retries = sum(o.attempts - 1 for o in rehearsal.outcomes)
        detail = (
            f"{done / elapsed:5.1f}/s · in flight {rehearsal.in_flight:3d} · "
            f"retries {retries} · wrong {wrong} · errors {errors}"
        )
        progress.update(task, completed=done, detail=detail)

    rehearsal = Rehearsal(
        submissions=submissions,
        urls=parse_urls(args.url),
        shape=shape,
        api_key=args.api_key,
        retry=RetryPolicy(deadline_s=args.deadline_s),
        send_tests=args.send_tests,
        seed=args.seed,
        on_update=update,
    )
    with progress:
        asyncio.run(rehearsal.run())
    summary = report.summarize(rehearsal)
    for table in report.tables(summary):
        console.print(table)
    for line in summary["wrong_examples"] + summary["error_examples"]:
        console.print(f"[red]{line}")
    report.chart(rehearsal, args.chart)
    console.print(f"chart: {args.chart}")
    result: dict[str, Any] = {"summary": summary}
    if args.replicas_per_language:
        try:
            result["plan"] = capacity_plan(args, summary, languages)
        except ValueError as exc:  # a language this run measured nothing of
            result["plan_error"] = str(exc)
            console.print(
                f"[yellow]no capacity plan: {exc}; give it with "
                "--per-replica-throughput LANGUAGE=PER_S"
            )
        else:
            print_plan(console, result["plan"])
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if summary["wrong_verdicts"] == 0 and summary["errors"] == 0 else 1


def parse_urls(values: list[str]) -> dict[str, list[str]]:
    """``--url`` values → executor.client routes: "python=http://a,http://b" or a bare URL for
    every language. Raises ValueError for a language the rehearsal does not know."""
    routes: dict[str, list[str]] = {}
    for value in values:
        language, separator, urls = value.partition("=")
        if not separator or "://" in language:
            language, urls = "*", value
        if language != "*" and language not in LANGUAGES:
            raise ValueError(f"--url: unknown language {language!r} (known: {LANGUAGES})")
        routes.setdefault(language, []).extend(u for u in urls.split(",") if u)
    return routes


def capacity_plan(
    args: argparse.Namespace, summary: dict[str, Any], languages: tuple[str, ...]
) -> dict[str, Any]:
    """The plan from this rehearsal's per-language throughput per replica."""
    from executor.rehearsal.capacity import Contest, Prices, Replica, plan
    from executor.rehearsal.workload import LANGUAGE_SHARES

    prices = Prices(
        **{
            name: value
            for name, value in {
                "vcpu_second_active": args.price_vcpu_second,
                "gib_second_active": args.price_gib_second,
                "per_million_requests": args.price_per_million_requests,
            }.items()
            if value is not None
        }
    )
    total_share = sum(LANGUAGE_SHARES[language] for language in languages)
    per_replica = {
        language: entry["throughput_per_s"] / args.replicas_per_language
        for language, entry in summary["per_language"].items()
    }
    if args.per_replica_throughput:
        for item in args.per_replica_throughput.split(","):
            language, _, value = item.partition("=")
            per_replica[language.strip()] = float(value)
    return plan(
        contest=Contest(
            submissions=args.plan_submissions,
            target_s=args.plan_target_s,
            hours=args.contest_hours,
            total_requests=args.plan_total_requests,
            shares={language: LANGUAGE_SHARES[language] / total_share for language in languages},
        ),
        per_replica_per_s=per_replica,
        replica=Replica(vcpu=args.replica_vcpu, gib=args.replica_gib),
        prices=prices,
    )


def print_plan(console: Any, plan: dict[str, Any]) -> None:
    from rich.table import Table

    contest = plan["contest"]
    table = Table(
        title=(
            f"Capacity plan: {contest['submissions']} submissions within {contest['target_s']:g} s,"
            f" replicas held {contest['hours']:g} h"
        )
    )
    for column in ("language", "share", "per replica", "replicas"):
        table.add_column(column, justify="right")
    for language, entry in plan["languages"].items():
        table.add_row(
            language,
            f"{entry['share']:.0%}",
            f"{entry['per_replica_per_s']:.2f}/s",
            str(entry["replicas"]),
        )
    console.print(table)
    console.print(
        f"replicas {plan['replicas']} ({plan['replica']['vcpu']} vCPU each, headroom "
        f"{plan['headroom']}x) → {plan['cores']:g} cores: request a Consumption cores quota of at "
        f"least {plan['quota_cores_to_request']} (default 100 per environment)\n"
        f"cost: {plan['replicas']} x ${plan['usd_per_replica_hour']}/h x {contest['hours']:g} h "
        f"= ${plan['usd_compute']} + requests ${plan['usd_requests']} = ${plan['usd_total']}\n"
        f"prices: {plan['prices_source']}"
    )
