"""Java's file and main-class naming, from the source text."""

import time

import pytest

from executor.languages.java.naming import java_file_name, java_main_class
from tests.support import Service


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("public class Main { }", "Main.java"),
        ("import java.util.*;\npublic final class Solution {}", "Solution.java"),
        ("// public class Fake {}\npublic class Real {}", "Real.java"),
        ('class A { String s = "public class Str {}"; }\npublic class B {}', "B.java"),
        ("class Helper {}\nclass Runner { public static void main(String[] a) {} }", "Main.java"),
        ("public record Point(int x) {}", "Point.java"),
        ("public class Ärger {}", "Ärger.java"),
        ("public class нет {}", "нет.java"),
        ("public class 名前 {}", "名前.java"),
        ("public class $_x1 {}", "$_x1.java"),
        # A combining mark (Devanagari's vowel signs) is part of an identifier.
        ("public class नमस्ते {}", "नमस्ते.java"),
        # Outside the basic plane: MATHEMATICAL SCRIPT CAPITAL A is a letter.
        ("public class \U0001d49c {}", "\U0001d49c.java"),
        # Unicode escapes are translated before anything else, surrogate pairs joined.
        ("public class \\u00C4rger {}", "Ärger.java"),
        ("public class \\uuuu0041 {}", "A.java"),
        ("public class \\uD835\\uDC9C {}", "\U0001d49c.java"),
        # An escaped backslash starts no escape.
        ('class A { String s = "\\\\u0041"; }\npublic class B {}', "B.java"),
        # A zero-width space (a format character) is ignored inside a name, as javac does.
        ("public class Ab\u200bc {}", "Abc.java"),
        ("public class Main<T extends Comparable<T>> {}", "Main.java"),
        # Literals and comments hide what is in them, in whatever order they come.
        ('class A { String s = "http://x"; }\npublic class B {}', "B.java"),
        ("class A { char q = '\"'; }\npublic class B {}", "B.java"),
        ('class A { String s = """\n  public class Fake {}\n  """; }\npublic class B {}', "B.java"),
        ('class A { String s = "/*"; }\npublic class B {} // */', "B.java"),
        ('/* " */ class A {} /* " */\npublic class B {}', "B.java"),
        # No public type, or a name too long for a file: Main.java (javac then says so).
        ("class Runner {}", "Main.java"),
        ("public class " + "A" * 251 + " {}", "Main.java"),
        ("public class " + "A" * 250 + "B {}", "Main.java"),
        ("public class " + "A" * 249 + "B {}", "A" * 249 + "B.java"),
    ],
)
def test_file_name_follows_the_public_type(code: str, name: str) -> None:
    assert java_file_name(code) == name


@pytest.mark.parametrize(
    ("main", "code", "cls"),
    [
        ("Main.java", "public class Main { public static void main(String[] a) {} }", "Main"),
        (
            "Main.java",
            "class Helper {}\nclass Runner {\n static public void main(String[] a) {}\n}",
            "Runner",
        ),
        (
            "App.java",
            "package com.example;\npublic class App { public static void main(String[] a) {} }",
            "com.example.App",
        ),
        ("Main.java", "class Nothing {}", "Main"),
        ("Ärger.java", "package straße;\npublic class Ärger {}", "straße.Ärger"),
        (
            "Main.java",
            "package a . b ;\nclass Über { static void main(String[] a) {} }",
            "a.b.Über",
        ),
        ("Main.java", "package 1bad;\npublic class Main {}", "Main"),
        ("нет.java", "class Helper {}", "нет"),
    ],
)
def test_main_class(main: str, code: str, cls: str) -> None:
    assert java_main_class(main, code) == cls


# What a tester found saved under the wrong name: a public type not at the start of its line, or
# a public nested type taken for the file's. Each prints its word when run (see the system test).
ONE_LINE_SOURCES = {
    "after_a_class": (
        "class A{} public class B"
        ' { public static void main(String[] a){ System.out.println("after"); } }',
        "B.java",
        "B",
        "after\n",
    ),
    "modifier_first": (
        "final public class B"
        ' { public static void main(String[] a){ System.out.println("final"); } }',
        "B.java",
        "B",
        "final\n",
    ),
    "annotated": (
        '@SuppressWarnings("x") public class B'
        ' { public static void main(String[] a){ System.out.println("annotated"); } }',
        "B.java",
        "B",
        "annotated\n",
    ),
    "after_an_import": (
        "import java.util.*; public class S"
        ' { public static void main(String[] a){ System.out.println(List.of("import").get(0)); } }',
        "S.java",
        "S",
        "import\n",
    ),
    "public_nested_type": (
        "class Outer { public static class Inner {}"
        ' public static void main(String[] a){ System.out.println("outer"); } }',
        "Main.java",
        "Outer",
        "outer\n",
    ),
    "main_in_a_nested_type": (
        "class Outer { static class Inner"
        ' { public static void main(String[] a){ System.out.println("inner"); } } }',
        "Main.java",
        "Outer$Inner",
        "inner\n",
    ),
}


@pytest.mark.parametrize(
    ("code", "name", "cls", "stdout"), ONE_LINE_SOURCES.values(), ids=list(ONE_LINE_SOURCES)
)
def test_one_line_sources(code: str, name: str, cls: str, stdout: str) -> None:
    assert java_file_name(code) == name
    assert java_main_class(name, code) == cls


@pytest.mark.parametrize(
    ("code", "name"),
    [
        # Modifiers in any order javac takes, annotations before or between them.
        ("abstract public class B {}", "B.java"),
        ("public abstract sealed class B permits C {}\nfinal class C extends B {}", "B.java"),
        ("non-sealed public class B {}", "B.java"),
        ("strictfp public final class B {}", "B.java"),
        ('@Deprecated\nfinal @SuppressWarnings({"a", "b"}) public class B {}', "B.java"),
        ("@java.lang.Deprecated public class B {}", "B.java"),
        ("@ a . b . Name public class B {}", "B.java"),
        ("@A(x = (1 + 2), y = @B({1, 2})) public class B {}", "B.java"),
        ('@A("public class X") public class B {}', "B.java"),
        ("@A(x = 1)public class B {}", "B.java"),
        ("public\nclass\nB {}", "B.java"),
        ("public enum E { X }", "E.java"),
        ("public interface I {}", "I.java"),
        ("public @interface Tag {}", "Tag.java"),
        ("class A { void f() { } } public class B {}", "B.java"),
        ("import java.util.*; public record P(int x) {}", "P.java"),
        # Only a top-level type names the file: a nested type, public or not, never does.
        ("class A { public class Inner {} }", "Main.java"),
        ("class A {\n    public class Inner {}\n}", "Main.java"),
        ("class A {\n    public static class Inner {}\n}\npublic class B {}", "B.java"),
        ("class A { public static class Inner {} } public class B {}", "B.java"),
        ("class A { public interface I {} public enum E { X } }", "Main.java"),
        ("interface A { public class Inner {} }", "Main.java"),
        ("class A { void f() { class Local {} } }", "Main.java"),
        # No public modifier: an annotation's or an identifier's "public" is no modifier.
        ("final class B {}", "Main.java"),
        ("class publicB {}", "Main.java"),
    ],
)
def test_public_type_anywhere_at_top_level(code: str, name: str) -> None:
    assert java_file_name(code) == name


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        # The type that declares main is run, not a nested type declared before main.
        ("class Outer { static class Inner {} public static void main(String[] a) {} }", "Outer"),
        (
            "package p;\nclass Outer { interface I {} enum E { X }\n"
            " public static void main(String[] a) {} }",
            "p.Outer",
        ),
        (
            "class A { static class B { static class C"
            " { public static void main(String[] a) {} } } }",
            "A$B$C",
        ),
        (
            "class Helper { static class X {} }\n"
            "class Runner { static public void main(String[] a) {} }",
            "Runner",
        ),
        # A local type inside a method before main does not win either.
        (
            "class Outer { void f() { class Local {} } public static void main(String[] a) {} }",
            "Outer",
        ),
    ],
)
def test_main_class_is_the_type_declaring_main(code: str, cls: str) -> None:
    assert java_main_class("Main.java", code) == cls


@pytest.mark.parametrize(
    ("code", "stdout"),
    [(code, stdout) for code, _, _, stdout in ONE_LINE_SOURCES.values()],
    ids=list(ONE_LINE_SOURCES),
)
def test_one_line_sources_compile_and_run(service: Service, code: str, stdout: str) -> None:
    """Through javac and java: the file name javac wants, the class java can run."""
    result = service.execute({"language": "java", "code": code})
    assert result["status"] == "ok", result
    assert result["stdout"] == stdout


@pytest.mark.parametrize(
    "code",
    [
        "@a " * 100_000,
        "final " * 100_000,
        "public @a(" * 50_000,
        "class A " * 50_000 + "{ static void main(String[] a) {} }",
    ],
    ids=["annotations", "modifiers", "open_parentheses", "declarations"],
)
def test_naming_takes_time_linear_in_the_source(code: str) -> None:
    """Hostile heads, 300 KB and more: named in well under a second (a head matched from each
    position would take minutes), since the service names every submission itself, on its
    event loop. A guard against a hang (a submission that stalls the service), not a speed
    target: a linear pass takes about 0.1 s here, the bound is fifty times that."""
    started = time.monotonic()
    java_file_name(code)
    java_main_class("Main.java", code)
    assert time.monotonic() - started < 5
