"""Java's file and main-class naming, from the source text."""

import pytest

from executor.languages.java.naming import java_file_name, java_main_class


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
