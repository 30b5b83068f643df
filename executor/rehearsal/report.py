"""What a rehearsal measured: a summary (JSON-ready), rich tables, and a PNG chart."""

import statistics
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from executor.rehearsal.runner import Outcome, Rehearsal

PERCENTILES = (50, 90, 95, 99)


def summarize(rehearsal: Rehearsal) -> dict[str, Any]:
    """Counts, latency percentiles (ms), throughput (/s), verdicts, retries and errors."""
    outcomes = rehearsal.outcomes
    answered = [o for o in outcomes if o.error is None]
    wrong = [o for o in answered if not o.correct]
    duration_s = rehearsal.ended_at - rehearsal.started_at
    ids = Counter(o.submission.submission_id for o in outcomes)
    expected_ids = {s.submission_id for s in rehearsal.submissions}
    per_language: dict[str, Any] = {}
    for language in sorted({o.submission.language for o in outcomes}):
        mine = [o for o in answered if o.submission.language == language]
        window_s = _window_s(mine)
        per_language[language] = {
            "answered": len(mine),
            "window_s": round(window_s, 2),
            "throughput_per_s": round(len(mine) / window_s, 2) if window_s else 0.0,
            "latency_ms": _percentiles([o.latency_s for o in mine]),
        }
    verdicts: dict[str, dict[str, int]] = defaultdict(dict)
    for (kind, got), count in sorted(
        Counter((o.submission.kind, o.verdict or "no answer") for o in outcomes).items()
    ):
        verdicts[kind][got] = count
    return {
        "shape": rehearsal.shape.describe(),
        "submissions": len(rehearsal.submissions),
        "answered": len(answered),
        "correct": len(answered) - len(wrong),
        "wrong_verdicts": len(wrong),
        "errors": len(outcomes) - len(answered),
        "answered_exactly_once": set(ids) == expected_ids and set(ids.values()) == {1},
        "duration_s": round(duration_s, 2),
        "throughput_per_s": round(len(answered) / duration_s, 2) if duration_s else 0.0,
        "latency_ms": _percentiles([o.latency_s for o in answered]),
        "per_language": per_language,
        "peak_in_flight": max((n for _, n in rehearsal.in_flight_timeline), default=0),
        "verdicts": dict(verdicts),
        "judged_by": dict(Counter(o.judged_by for o in answered if o.judged_by)),
        "retries": {
            "attempts_retried": sum(o.attempts - 1 for o in outcomes),
            "submissions_retried": sum(1 for o in outcomes if o.attempts > 1),
            "by_reason": dict(Counter(r for o in outcomes for r in o.retry_reasons)),
            "may_have_run_twice": sum(1 for o in outcomes if o.may_have_run_twice),
        },
        "errors_by_type": dict(Counter((o.error or "").split(":")[0] for o in outcomes if o.error)),
        "wrong_examples": [_describe(o) for o in wrong[:10]],
        "error_examples": [o.error for o in outcomes if o.error][:10],
        "marks": [{"at_s": round(at, 2), "label": label} for at, label in rehearsal.marks],
    }


def tables(summary: dict[str, Any]) -> list[Any]:
    """rich Tables of the summary: totals, latency per language, verdicts per kind."""
    from rich.table import Table  # the rehearse extra; the service never imports this module

    totals = Table(title=f"Rehearsal: {summary['shape']}")
    for column in (
        "sent",
        "answered",
        "right",
        "wrong",
        "errors",
        "retried",
        "re-sent",
        "time",
        "rate",
    ):
        totals.add_column(column, justify="right")
    retries = summary["retries"]
    totals.add_row(
        str(summary["submissions"]),
        str(summary["answered"]),
        str(summary["correct"]),
        str(summary["wrong_verdicts"]),
        str(summary["errors"]),
        f"{retries['submissions_retried']} ({retries['attempts_retried']} attempts)",
        str(retries["may_have_run_twice"]),
        f"{summary['duration_s']:.1f} s",
        f"{summary['throughput_per_s']:.1f}/s",
    )
    latency = Table(title="Latency (ms, submit → verdict, retries included)")
    for column in ("language", "answered", "throughput", *(f"p{p}" for p in PERCENTILES), "max"):
        latency.add_column(column, justify="right")
    rows = [("all", summary["answered"], summary["throughput_per_s"], summary["latency_ms"])]
    rows += [
        (language, entry["answered"], entry["throughput_per_s"], entry["latency_ms"])
        for language, entry in summary["per_language"].items()
    ]
    for name, count, throughput, ms in rows:
        latency.add_row(
            name,
            str(count),
            f"{throughput:.1f}/s",
            *(f"{ms.get(f'p{p}', 0):.0f}" for p in PERCENTILES),
            f"{ms.get('max', 0):.0f}",
        )
    verdicts = Table(title="Verdicts per kind of submission")
    verdicts.add_column("kind")
    verdicts.add_column("verdicts")
    for kind, counts in summary["verdicts"].items():
        verdicts.add_row(kind, ", ".join(f"{v} {n}" for v, n in counts.items()))
    return [totals, latency, verdicts]


def markdown(summary: dict[str, Any]) -> str:
    """The latency table as Markdown (for deploy/README.md)."""
    header = (
        "| language | answered | throughput | "
        + " | ".join(f"p{p} ms" for p in PERCENTILES)
        + " | max ms |"
    )
    lines = [header, "|---|--:|--:|" + "--:|" * len(PERCENTILES) + "--:|"]
    rows = [("all", summary["answered"], summary["throughput_per_s"], summary["latency_ms"])]
    rows += [
        (language, entry["answered"], entry["throughput_per_s"], entry["latency_ms"])
        for language, entry in summary["per_language"].items()
    ]
    for name, count, throughput, ms in rows:
        cells = " | ".join(f"{ms.get(f'p{p}', 0):.0f}" for p in PERCENTILES)
        lines.append(
            f"| {name} | {count} | {throughput:.1f}/s | {cells} | {ms.get('max', 0):.0f} |"
        )
    return "\n".join(lines)


def chart(rehearsal: Rehearsal, path: Path) -> None:
    """A PNG: each submission's latency at the time it was answered (by language), and the
    submissions in flight over time; marks (a replica killed) as vertical lines."""
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    figure, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(10, 6.5), height_ratios=(3, 2))
    colours = {"python": "tab:blue", "node": "tab:green", "java": "tab:orange"}
    for language in sorted({o.submission.language for o in rehearsal.outcomes}):
        mine = [
            o for o in rehearsal.outcomes if o.submission.language == language and o.error is None
        ]
        top.scatter(
            [o.finished_s for o in mine],
            [o.latency_s for o in mine],
            s=6,
            alpha=0.6,
            label=language,
            color=colours.get(language),
        )
    failed = [o for o in rehearsal.outcomes if o.error is not None]
    if failed:
        top.scatter(
            [o.finished_s for o in failed],
            [o.latency_s for o in failed],
            s=20,
            marker="x",
            color="red",
            label="no answer",
        )
    top.set_ylabel("latency (s)")
    top.set_yscale("log")
    top.legend(loc="upper right", fontsize=8)
    top.grid(alpha=0.3)
    times = [t for t, _ in rehearsal.in_flight_timeline]
    counts = [n for _, n in rehearsal.in_flight_timeline]
    bottom.step(times, counts, where="post", color="tab:purple")
    bottom.set_ylabel("in flight")
    bottom.set_xlabel("time since the start (s)")
    bottom.grid(alpha=0.3)
    for at, label in rehearsal.marks:
        for axis in (top, bottom):
            axis.axvline(at, color="red", linestyle="--", linewidth=1)
        top.annotate(
            label,
            (at, 1),
            xycoords=("data", "axes fraction"),
            fontsize=8,
            color="red",
            xytext=(3, -12),
            textcoords="offset points",
        )
    figure.suptitle(
        f"executor rehearse: {len(rehearsal.submissions)} submissions, {rehearsal.shape.describe()}"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _percentiles(latencies_s: list[float]) -> dict[str, float]:
    if not latencies_s:
        return {}
    ms = sorted(1000 * s for s in latencies_s)
    cuts = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else ms * 99
    result = {f"p{p}": round(cuts[p - 1], 1) for p in PERCENTILES}
    result["max"] = round(ms[-1], 1)
    result["mean"] = round(statistics.fmean(ms), 1)
    return result


def _window_s(outcomes: list[Outcome]) -> float:
    if not outcomes:
        return 0.0
    return max(o.finished_s for o in outcomes) - min(o.submitted_s for o in outcomes)


def _describe(outcome: Outcome) -> str:
    s = outcome.submission
    expected = "/".join(sorted(s.expected_verdicts))
    found = f"{s.submission_id} {s.language} {s.kind}: expected {expected}, got {outcome.verdict}"
    if outcome.verdict is None:
        return found
    measured = [
        f"{name} {value}"
        for name, value in (
            ("time_ms", outcome.time_ms),
            ("wall_time_ms", outcome.wall_time_ms),
            ("memory_kb", outcome.memory_kb),
        )
        if value is not None
    ]
    if outcome.message:
        measured.append(repr(outcome.message))
    if outcome.url:
        measured.append(f"on {outcome.url}")
    return f"{found} ({', '.join(measured)})" if measured else found
