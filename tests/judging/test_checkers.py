"""The built-in checkers on the outputs contest systems find tricky.

Each case cites the rule it follows: "Kattis" is the default output validator of Kattis'
problemtools (support/default_validator/default_validator.cc) and the problem package format's
"Default output validator specification"; "DOMjudge" is its fork in DOMjudge's
sql/files/defaultdata/compare/compare.cc; "ours" marks a choice of this project.
"""

import random
import tracemalloc

import pytest

from executor.judging import checkers
from executor.judging.checkers import (
    PREVIEW_BYTES,
    CheckerConfig,
    CheckerKind,
    check,
    check_exact,
    check_float,
    check_lines,
    check_tokens,
)

MESSAGE_MAX_CHARS = 4 * PREVIEW_BYTES + 200


def accepted_float(output: bytes, expected: bytes, **tolerances: float | None) -> bool:
    options = {"abs_tolerance": None, "rel_tolerance": None} | tolerances
    return check_float(output, expected=expected, **options).accepted


# --- exact -----------------------------------------------------------------------------------


def test_exact_accepts_the_same_bytes() -> None:
    assert check_exact(b"1 2\n", expected=b"1 2\n").accepted


def test_exact_rejects_crlf_and_says_so() -> None:
    # ours: "exact" is byte for byte, so CRLF differs from LF; the message points at the CR.
    result = check_exact(b"1\r\n2\r\n", expected=b"1\n2\n")
    assert not result.accepted
    assert result.message == (
        "line 1, column 2: expected a line break, got '\\r' (the output has CRLF line endings)"
    )


def test_exact_rejects_a_missing_final_newline() -> None:
    result = check_exact(b"42", expected=b"42\n")
    assert not result.accepted
    assert result.message == "line 1, column 3: the output ends; expected a line break"


def test_exact_names_the_line_and_column_of_the_first_difference() -> None:
    result = check_exact(b"abc\nabd\n", expected=b"abc\nabc\n")
    assert result.message == "line 2, column 3: expected 'c', got 'd'"


def test_exact_reports_extra_output_after_the_answer() -> None:
    result = check_exact(b"1\n2\n", expected=b"1\n")
    assert result.message == "line 2, column 1: extra output after the expected end: '2'"


# --- lines -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "output",
    [
        b"1 2\n3\n",
        b"1 2   \n3\t\n",  # trailing spaces and tabs on a line
        b"1 2\r\n3\r\n",  # CRLF: the CR is trailing whitespace of its line
        b"1 2\n3",  # no final newline
        b"1 2\n3\n\n\n",  # blank lines at the end
        b"1 2\n3\n \t\n\r\n",  # blank lines holding only whitespace at the end
    ],
)
def test_lines_ignores_trailing_whitespace_and_trailing_blank_lines(output: bytes) -> None:
    # ours (the definition of "lines"): trailing whitespace on each line and trailing
    # blank lines are ignored, whatever the line ending.
    assert check_lines(output, expected=b"1 2\n3\n").accepted


def test_lines_ignores_trailing_blank_lines_of_the_expected_output_too() -> None:
    assert check_lines(b"1\n", expected=b"1\n\n\n").accepted


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (b" 1 2\n3\n", "line 1, column 1: expected '1 2', got ' 1 2'"),  # leading space counts
        (b"1  2\n3\n", "line 1, column 3: expected '1 2', got '1  2'"),  # inner spacing counts
        (b"1 2\n\n3\n", "line 2, column 1: expected '3', got ''"),  # a blank line inside counts
        (b"1 2\nx\n", "line 2, column 1: expected '3', got 'x'"),
    ],
)
def test_lines_keeps_leading_and_inner_whitespace_and_inner_blank_lines(
    output: bytes, message: str
) -> None:
    result = check_lines(output, expected=b"1 2\n3\n")
    assert not result.accepted
    assert result.message == message


def test_lines_is_case_sensitive() -> None:
    assert not check_lines(b"YES\n", expected=b"yes\n").accepted


def test_lines_rejects_extra_output_after_the_answer() -> None:
    # Kattis ("Trailing output") and DOMjudge reject output past the answer; blank lines between
    # the answer and the extra line do not hide it.
    result = check_lines(b"1\n\n\nextra\n", expected=b"1\n")
    assert result.message == "line 4: extra output after the expected end: 'extra'"


def test_lines_rejects_output_that_ends_early() -> None:
    result = check_lines(b"1\n", expected=b"1\n\n2\n")
    assert result.message == "line 3: the output ends; expected '2'"


def test_lines_treats_empty_output_like_any_other() -> None:
    assert check_lines(b"", expected=b"").accepted
    assert check_lines(b"", expected=b"\n\n").accepted  # only blank lines expected
    assert check_lines(b"", expected=b"0\n").message == "line 1: the output ends; expected '0'"


def test_lines_treats_a_lone_carriage_return_as_part_of_the_line() -> None:
    # ours: only LF ends a line; a CR inside a line (old Mac endings) is content.
    assert not check_lines(b"1\r2\n", expected=b"1\n2\n").accepted


def test_lines_points_into_a_long_line_near_the_difference() -> None:
    long_line = b"a" * 1000
    result = check_lines(long_line + b"b\n", expected=long_line + b"c\n")
    assert result.message.startswith("line 1, column 1001: expected …'aaaa")
    assert len(result.message) < MESSAGE_MAX_CHARS


# --- tokens ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "output",
    [
        b"1 2 3\n",
        b"1\n2\n3",  # newlines for spaces, no final newline
        b"  1\t2 \r\n 3 \n\n\n",  # leading, trailing, CRLF, tabs
        b"1\x0b2\x0c3",  # vertical tab and form feed are whitespace (C isspace)
    ],
)
def test_tokens_ignores_every_kind_of_whitespace(output: bytes) -> None:
    # Kattis: tokens are split on space, FF, LF, CR, TAB and VT, and whitespace is otherwise
    # ignored.
    assert check_tokens(output, expected=b"1 2 3\n").accepted


@pytest.mark.parametrize("separator", [b"\x1c", b"\xc2\xa0", b"\x00"])
def test_tokens_does_not_split_on_other_bytes_python_calls_space(separator: bytes) -> None:
    # Kattis: only the six ASCII whitespace bytes separate tokens; not Python's str.isspace
    # extras (\x1c) nor a UTF-8 no-break space nor NUL.
    assert not check_tokens(b"1" + separator + b"2", expected=b"1 2").accepted


def test_tokens_is_case_sensitive_by_default() -> None:
    # ours: the issue makes case_sensitive default to true (Kattis defaults to insensitive; the
    # package reader asks for case_sensitive=False for a Kattis problem without the flag).
    result = check_tokens(b"YES\n", expected=b"yes\n")
    assert not result.accepted
    assert result.message == (
        "token 1 (line 1 of the output, line 1 of the expected): expected 'yes', got 'YES'"
    )


def test_tokens_without_case_sensitivity_folds_ascii_letters_only() -> None:
    # Kattis: uppercase ASCII A-Z equal their lowercase counterparts; other bytes compare as is.
    assert check_tokens(b"YeS", expected=b"yes", case_sensitive=False).accepted
    assert not check_tokens("ÉTÉ".encode(), expected="été".encode(), case_sensitive=False).accepted


def test_tokens_reports_the_original_tokens_when_case_is_folded() -> None:
    result = check_tokens(b"Yes No\n", expected=b"yes yes\n", case_sensitive=False)
    assert "expected 'yes', got 'No'" in result.message


def test_tokens_rejects_extra_output_after_the_answer() -> None:
    # Kattis: "Trailing output" is wrong answer.
    result = check_tokens(b"42\n0\n", expected=b"42\n")
    assert result.message == "token 2 (line 2): extra output after the expected answer: '0'"


def test_tokens_rejects_output_that_ends_early() -> None:
    # Kattis: "User EOF while judge had more output".
    result = check_tokens(b"1 2\n", expected=b"1 2\n3\n")
    assert result.message == (
        "token 3: the output ends (after line 1); expected '3' (line 2 of the expected)"
    )


def test_tokens_tells_empty_output_from_output_of_only_whitespace() -> None:
    # Kattis words the two apart ("user output was empty" / "contained no tokens").
    assert check_tokens(b"", expected=b"7").message == (
        "the output is empty; expected '7' (token 1)"
    )
    assert check_tokens(b" \n", expected=b"7").message == (
        "the output is only whitespace; expected '7' (token 1)"
    )
    assert check_tokens(b"\n", expected=b"").accepted  # nothing expected, nothing given


@pytest.mark.parametrize(("output", "expected"), [(b"0.0000001", b"1e-7"), (b"-0", b"0")])
def test_tokens_compares_numbers_as_strings(output: bytes, expected: bytes) -> None:
    # Kattis: "If no floating-point tolerance has been set, floating-point tokens are treated
    # just like any other token and have to match exactly."
    assert not check_tokens(output, expected=expected).accepted


def test_tokens_compares_invalid_utf8_byte_for_byte_and_escapes_it() -> None:
    # Kattis: files are strings of single-byte characters; nothing is decoded.
    assert check_tokens(b"\xff\xfe 1", expected=b"\xff\xfe 1").accepted
    result = check_tokens(b"\xff 1", expected=b"\xfe 1")
    assert result.message.endswith("expected '\\xfe', got '\\xff'")


# --- float -----------------------------------------------------------------------------------


def test_float_accepts_any_notation_of_the_same_number() -> None:
    # Kattis: "any valid formatting of floating-point numbers is accepted for floating-point
    # tokens" (0.0314 vs 3.14000000e-2); both parse to the same double, so even a zero
    # tolerance accepts them.
    assert accepted_float(b"0.0000001", b"1e-7", abs_tolerance=0.0)
    assert accepted_float(b"3.14000000e-2", b"0.0314", abs_tolerance=0.0)
    assert accepted_float(b"+5", b"5.", abs_tolerance=0.0)
    assert accepted_float(b".5", b"0.5E0", abs_tolerance=0.0)


def test_float_accepts_minus_zero_for_zero() -> None:
    # Kattis: |(-0) - 0| = 0 is within any tolerance.
    assert accepted_float(b"-0", b"0", abs_tolerance=0.0)
    assert accepted_float(b"-0.000", b"0", rel_tolerance=0.0)


def test_float_treats_integers_as_numbers() -> None:
    # Kattis: "the default output validator will parse exact integers as floating-point".
    assert accepted_float(b"3.0000001", b"3", abs_tolerance=1e-6)


def test_float_bounds_are_inclusive() -> None:
    # Kattis: accepted if |s-a| <= eps (values chosen so that the arithmetic is exact).
    assert accepted_float(b"1.75", b"1.5", abs_tolerance=0.25)
    assert not accepted_float(b"1.7500001", b"1.5", abs_tolerance=0.25)
    assert accepted_float(b"1001", b"1000", rel_tolerance=0.001)
    assert not accepted_float(b"1001.01", b"1000", rel_tolerance=0.001)


def test_float_relative_error_is_against_the_expected_value() -> None:
    # Kattis: |s-a| <= eps*|a| with a the answer. DOMjudge divides by the team's value instead,
    # which would accept 2 for 1 at eps 0.5; we follow Kattis.
    assert not accepted_float(b"2", b"1", rel_tolerance=0.5)
    assert accepted_float(b"1", b"2", rel_tolerance=0.5)


def test_float_accepts_within_either_tolerance() -> None:
    # Kattis: "When supplying both a relative and an absolute tolerance, the semantics are that
    # a token is accepted if it is within either of the two tolerances."
    assert accepted_float(b"1000.5", b"1000", abs_tolerance=1e-6, rel_tolerance=1e-3)
    assert accepted_float(b"0.0000005", b"0", abs_tolerance=1e-6, rel_tolerance=1e-3)
    assert not accepted_float(b"1002", b"1000", abs_tolerance=1e-6, rel_tolerance=1e-3)


def test_float_message_gives_the_difference_and_the_tolerances() -> None:
    result = check_float(b"3.15", expected=b"3.14159", abs_tolerance=1e-6, rel_tolerance=None)
    assert result.message == (
        "token 1 (line 1 of the output, line 1 of the expected): expected '3.14159', got '3.15':"
        " difference 0.00841 is over the tolerance (abs 1e-06, rel not set)"
    )


@pytest.mark.parametrize("output", [b"nan", b"inf", b"-inf", b"infinity", b"1e999", b"x"])
def test_float_rejects_a_non_number_where_a_number_is_expected(output: bytes) -> None:
    # Kattis: an output token that does not parse as a finite float where the answer has one
    # is "Expected float"; nan and inf are not finite, 1e999 overflows.
    result = check_float(output, expected=b"1.5", abs_tolerance=1e-6, rel_tolerance=None)
    assert not result.accepted
    assert "expected the number '1.5'" in result.message


@pytest.mark.parametrize("output", [b"0x10", b"1_6", b"16e", b"1.6.0", b"\xef\xbc\x91\xef\xbc\x96"])
def test_float_only_takes_decimal_numbers(output: bytes) -> None:
    # The problem package format's float grammar: decimal with an optional exponent. Not hex
    # (which C's sscanf would take), not Python's digit separators, not full-width digits.
    assert not accepted_float(output, b"16", abs_tolerance=1e-6)


def test_float_compares_an_expected_nan_or_inf_as_a_string() -> None:
    # Kattis: isfloat() refuses nan and inf, so such answer tokens are compared as strings.
    # (DOMjudge instead lets nan equal nan and inf equal inf of the same sign.)
    assert accepted_float(b"nan", b"nan", abs_tolerance=1e-6)
    assert accepted_float(b"-inf", b"-inf", abs_tolerance=1e-6)
    assert not accepted_float(b"NaN", b"nan", abs_tolerance=1e-6)
    assert not accepted_float(b"1e999", b"inf", abs_tolerance=1e-6)
    assert check_float(
        b"NaN", expected=b"nan", abs_tolerance=1e-6, rel_tolerance=None, case_sensitive=False
    ).accepted


def test_float_compares_words_as_strings_with_the_case_rule() -> None:
    assert accepted_float(b"impossible", b"impossible", abs_tolerance=1e-6)
    assert not accepted_float(b"Impossible", b"impossible", abs_tolerance=1e-6)


def test_float_rejects_extra_output_and_early_ends_like_tokens() -> None:
    assert not accepted_float(b"1.0 2.0", b"1.0", abs_tolerance=1e-6)
    assert not accepted_float(b"", b"1.0", abs_tolerance=1e-6)


@pytest.mark.parametrize("tolerance", [-1.0, float("nan"), float("inf")])
def test_float_refuses_a_negative_or_non_finite_tolerance(tolerance: float) -> None:
    with pytest.raises(ValueError, match="abs_tolerance must be a finite number"):
        check_float(b"1", expected=b"1", abs_tolerance=tolerance, rel_tolerance=None)


def test_float_without_any_tolerance_is_refused() -> None:
    with pytest.raises(ValueError, match="needs abs_tolerance, rel_tolerance or both"):
        check_float(b"1", expected=b"1", abs_tolerance=None, rel_tolerance=None)


def test_float_config_without_tolerances_uses_one_in_a_million_for_both() -> None:
    # ours: the string "float" in a request means abs and rel 1e-6.
    config = CheckerConfig(kind=CheckerKind.FLOAT)
    assert check(b"1.0000009", expected=b"1", config=config).accepted
    assert not check(b"1.000002", expected=b"1", config=config).accepted


# --- large outputs ---------------------------------------------------------------------------


def test_tokens_finds_a_difference_at_the_end_of_millions_of_tokens() -> None:
    expected = b"1 " * 2_000_000
    output = b"1\n" * 1_999_999 + b"2\n"
    result = check_tokens(output, expected=expected)
    assert result.message == (
        "token 2000000 (line 2000000 of the output, line 1 of the expected): expected '1', got '2'"
    )


def test_messages_stay_short_whatever_the_size_of_the_data() -> None:
    huge = b"9" * 3_000_000
    for result in (
        check_exact(huge + b"1", expected=huge + b"0"),
        check_lines(huge, expected=b"8" + huge),
        check_tokens(huge, expected=b"x"),
        check_tokens(b"x " + huge, expected=b"x"),
        check_float(huge + b"1", expected=huge + b"0", abs_tolerance=0.0, rel_tolerance=None),
    ):
        assert not result.accepted
        assert len(result.message) < MESSAGE_MAX_CHARS, result.message


def test_a_long_run_of_whitespace_is_just_a_separator() -> None:
    assert check_tokens(b"1" + b" " * 4_000_000 + b"2", expected=b"1 2").accepted
    assert check_lines(b"1" + b" " * 4_000_000 + b"\n", expected=b"1\n").accepted


@pytest.mark.parametrize(
    "checker",
    [
        CheckerConfig(kind=CheckerKind.LINES),
        CheckerConfig(kind=CheckerKind.TOKENS, case_sensitive=False),
        CheckerConfig(kind=CheckerKind.FLOAT, abs_tolerance=1e-9),
    ],
)
def test_checkers_hold_a_bounded_amount_beyond_their_inputs(checker: CheckerConfig) -> None:
    """1. Build 1.2 MB outputs of four-byte lines that differ only in their last line.
    2. Check them with tracemalloc on.
    3. The peak of new allocations stays under 3 MB: windows of each side, never a list of all
       lines or tokens (which costs about 40 bytes per line, 24 MB for both sides here)."""
    lines = 300_000
    expected = b"0.5\n" * lines
    output = b"0.5\n" * (lines - 1) + b"0.6\n"
    tracemalloc.start()
    try:
        result = check(output, expected=expected, config=checker)
        peak_bytes = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert not result.accepted
    assert peak_bytes < 3 * 1024 * 1024


def naive_verdict(output: bytes, expected: bytes, rule: str) -> bool:
    """The definitions written the obvious way (whole lists in memory), as the reference."""
    if rule == "lines":

        def lines(data: bytes) -> list[bytes]:
            kept = [line.rstrip() for line in data.split(b"\n")]
            while kept and not kept[-1]:
                kept.pop()
            return kept

        return lines(output) == lines(expected)
    if rule == "tokens":
        return output.split() == expected.split()
    return output.lower().split() == expected.lower().split()  # tokens, any case


@pytest.mark.parametrize("seed", range(20))
def test_windowed_checkers_agree_with_the_plain_definitions_across_window_edges(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1. Shrink the window to 7 bytes, so that lines and tokens straddle window edges.
    2. Compare random outputs made of a few tokens, spaces, CRs and newlines.
    3. lines, tokens and case-folded tokens agree with the plain definitions."""
    monkeypatch.setattr(checkers, "_WINDOW_BYTES", 7)
    rng = random.Random(seed)
    pieces = [b"a", b"B", b"b", b"12", b" ", b"  ", b"\n", b"\r\n", b"\t", b"\n\n"]
    for _ in range(300):
        expected = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
        output = expected if rng.random() < 0.3 else b""
        output += b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 8)))
        for kind, result in (
            (CheckerKind.LINES, check_lines(output, expected=expected)),
            (CheckerKind.TOKENS, check_tokens(output, expected=expected)),
            (CheckerKind.FLOAT, check_tokens(output, expected=expected, case_sensitive=False)),
        ):
            assert result.accepted == naive_verdict(output, expected, kind), (
                kind,
                output,
                expected,
            )
