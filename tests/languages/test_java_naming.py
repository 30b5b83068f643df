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
    ],
)
def test_main_class(main: str, code: str, cls: str) -> None:
    assert java_main_class(main, code) == cls
