"""How far a member has read a thread: which of its posts they were shown (no queries here).

A thread's posts are numbered 1, 2, 3… in the order they were written
(``Post.number``; 1 is the opening post). A member's place in a thread
(``ReadState``) is a ``Position``: ``upto``, the highest number such that
every post up to it was shown to them (Discourse's ``last_read_post_number``),
and ``ranges``, the posts shown beyond it as ``(first, last)`` pairs.

The ranges exist because pages are not always read in number order: a
nested thread's pages follow the tree (page 1 may hold posts 1, 2, 4, 5, 6),
and a notification's link opens page 3 before page 2. A post is read when
a page the member loaded rendered it, and only then. As the gaps fill, the
ranges fold into ``upto``. A position never moves backwards.

The ranges are bounded (``RANGES_MAX`` pairs, a few hundred bytes). Past the
bound the highest pairs are forgotten: those posts count as unread again.
So the record may, in the worst case, show a post as new twice; it never
hides one the member was not shown.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# How many (first, last) pairs a position keeps beyond its prefix. Reading a flat
# thread in any page order makes one pair per page skipped; a nested page makes
# at most one pair per post it shows, and they fold as the pages around them are read.
RANGES_MAX = 100
_LAST = 2**63  # past any post number: bisect's upper key
# Unread counts stop here: a list shows "99+" rather than read a thousand rows to say 1,000.
UNREAD_COUNTED = 100


@dataclass(frozen=True)
class Position:
    """Posts 1..``upto`` were shown, and those in ``ranges`` (sorted, apart, all past ``upto + 1``)."""

    upto: int = 0
    ranges: tuple[tuple[int, int], ...] = ()

    @classmethod
    def stored(cls, upto: int | None, ranges: Any) -> Position:
        """The position as a ReadState row holds it; anything malformed in ``ranges`` is ignored (read again)."""
        pairs = []
        if isinstance(ranges, list):
            for pair in ranges:
                if (
                    isinstance(pair, list)
                    and len(pair) == 2
                    and all(isinstance(n, int) and not isinstance(n, bool) for n in pair)
                    and 0 < pair[0] <= pair[1]
                ):
                    pairs.append((pair[0], pair[1]))
        return cls(max(upto or 0, 0)).with_ranges(pairs)

    def has_read(self, number: int) -> bool:
        """Whether the post numbered ``number`` was shown."""
        if number <= self.upto:
            return True
        at = bisect_right(self.ranges, (number, _LAST)) - 1  # the last pair starting at or before it
        return at >= 0 and number <= self.ranges[at][1]

    def with_shown(self, numbers: Iterable[int]) -> Position:
        """This position with the posts ``numbers`` shown too (the posts a page rendered)."""
        return self.with_ranges((n, n) for n in numbers)

    def with_upto(self, number: int) -> Position:
        """This position with every post up to ``number`` shown (a thread read to its end)."""
        return self.with_ranges([(1, number)] if number > 0 else [])

    def with_ranges(self, spans: Iterable[tuple[int, int]]) -> Position:
        upto = self.upto
        merged: list[tuple[int, int]] = []
        # Sorted by first number: a span touching the prefix extends it; since the
        # prefix only grows before the first span that doesn't touch it, one pass folds all.
        for first, last in sorted([*self.ranges, *((a, b) for a, b in spans if b > upto)]):
            if first <= upto + 1:
                upto = max(upto, last)
            elif merged and first <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(merged[-1][1], last))
            else:
                merged.append((first, last))
        return Position(upto, tuple(merged[:RANGES_MAX]))

    def as_json(self) -> list[list[int]]:
        """``ranges`` as ReadState.read_beyond stores them."""
        return [[first, last] for first, last in self.ranges]

    def unread_numbers(self, numbers: Iterable[int]) -> list[int]:
        """Those of ``numbers`` not shown yet, in the order given."""
        return [n for n in numbers if not self.has_read(n)]


def unread_label(count: int) -> str:
    """An unread count as lists show it: "7", or "99+" where counting stopped (``UNREAD_COUNTED``)."""
    return f"{UNREAD_COUNTED - 1}+" if count >= UNREAD_COUNTED else str(count)
