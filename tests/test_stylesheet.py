"""The stylesheet parses: every block closed, so no rule after a merge swallows the rest of the file."""

from __future__ import annotations

import re
from pathlib import Path

STYLESHEETS = sorted((Path(__file__).resolve().parent.parent / "static").rglob("*.css"))


def blocks_left_open(css: str) -> list[int]:
    """The line numbers of the ``{`` that are never closed (comments and strings left out)."""
    css = re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group()), css, flags=re.S)
    css = re.sub(r"\"[^\"\n]*\"|'[^'\n]*'", lambda m: " " * len(m.group()), css)
    opened: list[int] = []
    for number, line in enumerate(css.splitlines(), 1):
        for char in line:
            if char == "{":
                opened.append(number)
            elif char == "}":
                assert opened, f"line {number}: a }} closes nothing"
                opened.pop()
    return opened


def test_every_block_of_every_stylesheet_is_closed():
    assert STYLESHEETS
    for sheet in STYLESHEETS:
        assert blocks_left_open(sheet.read_text()) == [], sheet


def test_the_check_finds_a_block_left_open():
    assert blocks_left_open("@media (max-width: 30rem) {\n  .a { color: red; }\n.b { color: blue; }\n") == [1]
    assert blocks_left_open("/* { */ .a { content: '}'; }") == []
