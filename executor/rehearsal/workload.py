"""The contest a rehearsal plays: students, their languages, and a realistic mix of submissions."""

import random
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

LANGUAGES = ("python", "node", "java")

# Share of students per language (a school contest: Python first, then Java, then JavaScript).
LANGUAGE_SHARES = {"python": 0.5, "java": 0.3, "node": 0.2}

# Share of submissions per kind: most are right or nearly right; a few are hostile.
KIND_SHARES = {
    "accepted": 0.50,
    "wrong_answer": 0.20,
    "compile_error": 0.08,
    "runtime_error": 0.06,
    "time_limit": 0.05,
    "memory_limit": 0.03,
    "hostile_fork_bomb": 0.02,
    "hostile_output_flood": 0.02,
    "hostile_sleep": 0.02,
    "hostile_network": 0.02,
}

# The verdict each kind must get. A syntax error in Python or JavaScript is a runtime error for
# today's service (the interpreter exits 1) and a compilation error once the service checks
# syntax before running (issue 10): both are right until then.
EXPECTED = {
    "accepted": frozenset({"accepted"}),
    "wrong_answer": frozenset({"wrong_answer"}),
    "compile_error": frozenset({"compilation_error"}),
    "runtime_error": frozenset({"runtime_error"}),
    "time_limit": frozenset({"time_limit_exceeded"}),
    "memory_limit": frozenset({"memory_limit_exceeded"}),
    "hostile_fork_bomb": frozenset({"time_limit_exceeded"}),
    "hostile_output_flood": frozenset({"output_limit_exceeded"}),
    "hostile_sleep": frozenset({"time_limit_exceeded"}),
    "hostile_network": frozenset({"runtime_error"}),
}
INTERPRETED_SYNTAX_ERROR = frozenset({"compilation_error", "runtime_error"})

# The problem's limits: 1 s of CPU and 128 MB, as a contest sets them. The verdict rests on CPU
# time; the wall limit only stops programs that wait (sleep, blocked reads), so it is ten times
# the CPU limit: on a starved host (the local stand-in puts 4.5 vCPU of replicas on 2 CPUs) a
# correct program's wall time stretches, and a tighter wall limit turns it into a wrong
# time_limit_exceeded (measured: 66 of 1,000 at 4 s, deploy/README.md).
PROBLEM_LIMITS = {"time_ms": 1000, "wall_time_ms": 10000, "memory_mb": 128}
# Java gets twice the CPU time, as contests give it: the JVM's start, JIT and GC threads count in
# the run's CPU time (measured: a cold replica's first Java runs reached 1 s).
LANGUAGE_LIMITS = {"java": {"time_ms": 2000}}

SUFFIX = {"python": ".py", "node": ".js", "java": ".java"}


@dataclass(frozen=True)
class Submission:
    """One submission of the rehearsal: who, in what language, what kind, and what it must get."""

    submission_id: str
    student: int
    language: str
    kind: str
    source: str
    stdin: str
    expected_stdout: str
    expected_verdicts: frozenset[str]
    limits: dict[str, int] = field(default_factory=lambda: dict(PROBLEM_LIMITS))

    def request_fields(self, *, send_tests: bool) -> dict[str, Any]:
        """Fields of POST /execute. With ``send_tests`` the expected output goes along so that a
        service that judges (issue 10) answers with a ``verdict``."""
        fields: dict[str, Any] = {"code": self.source, "stdin": self.stdin, "limits": self.limits}
        if send_tests:
            fields["expected_stdout"] = self.expected_stdout
        return fields


def program(language: str, kind: str) -> str:
    """The source of one shipped program (executor/rehearsal/programs/<language>/)."""
    name = kind if language != "java" else "".join(part.title() for part in kind.split("_"))
    folder = resources.files("executor.rehearsal") / "programs" / language
    return (folder / f"{name}{SUFFIX[language]}").read_text()


def build(
    *,
    students: int,
    submissions_per_student: int,
    seed: int,
    languages: tuple[str, ...] = LANGUAGES,
    id_prefix: str = "",
) -> list[Submission]:
    """``students`` x ``submissions_per_student`` submissions, in submission order (round by
    round: every student's first, then every student's second, ...). Each student keeps one
    language; kinds follow KIND_SHARES; each submission has its own test input. Same seed, same
    contest. A submission's id is ``id_prefix`` then its student and round: the ids travel as
    idempotency keys, so a rehearsal run again against the same service needs a prefix of its
    own, or it gets the first run's answers back. Raises ValueError for an unknown language or
    a count below 1."""
    unknown = set(languages) - set(LANGUAGES)
    if unknown or not languages:
        raise ValueError(f"languages must be among {LANGUAGES}, got {languages}")
    if students < 1 or submissions_per_student < 1:
        raise ValueError("students and submissions_per_student must be at least 1")
    rng = random.Random(seed)
    shares = [LANGUAGE_SHARES[language] for language in languages]
    language_of = [rng.choices(languages, weights=shares)[0] for _ in range(students)]
    kinds, kind_weights = list(KIND_SHARES), list(KIND_SHARES.values())
    sources = {
        (language, kind): program(language, kind) for language in languages for kind in kinds
    }
    submissions = []
    for round_number in range(submissions_per_student):
        for student in range(students):
            language = language_of[student]
            kind = rng.choices(kinds, weights=kind_weights)[0]
            numbers = [rng.randint(1, 1000) for _ in range(rng.randint(5, 50))]
            expected = EXPECTED[kind]
            if kind == "compile_error" and language != "java":
                expected = INTERPRETED_SYNTAX_ERROR
            submissions.append(
                Submission(
                    submission_id=f"{id_prefix}s{student:04d}-{round_number:03d}",
                    student=student,
                    language=language,
                    kind=kind,
                    source=sources[language, kind],
                    stdin=f"{len(numbers)}\n{' '.join(map(str, numbers))}\n",
                    expected_stdout=f"{sum(numbers)}\n",
                    expected_verdicts=expected,
                    limits={**PROBLEM_LIMITS, **LANGUAGE_LIMITS.get(language, {})},
                )
            )
    return submissions
