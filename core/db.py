"""Small query helpers shared by the apps."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField, Expression, IntegerField, Model, QuerySet, Subquery
from django.db.models.sql.compiler import SQLCompiler

M = TypeVar("M", bound=Model)
# A column's converters as the ORM applies them: (position, functions, the column expression).
Converter = tuple[int, list[Callable[..., Any]], Any]


def one_or_none(queryset: QuerySet[M]) -> M | None:
    """The row a unique lookup names, or None.

    ``.first()`` adds ``ORDER BY id`` so that "first" means something; for a
    lookup by a unique key there is nothing to order, and building the
    ordering was a tenth of the query's cost in Django on the busiest pages.
    """
    return next(iter(queryset[:1]), None)


class Columns(Generic[M]):
    """A model's columns under a table alias, for a statement written out in SQL, and instances built back.

    Reads go through the ORM. A few fixed statements on the busiest pages are
    written out instead, where composing them through Django (joins, deferred
    columns, the SELECT list) cost the page more than 20 % of its CPU; each
    lives in its app's ``queries.py`` with that measurement beside it. This
    keeps their column lists tied to the models and turns a row back
    into instances exactly as the ORM would: the same converters (SQLite's
    dates, JSON…), ``_state`` set, fields not selected left deferred.

        thread = Columns(Thread, "t", exclude=["search_vector"])
        sql = f"SELECT {thread.sql} FROM {Thread._meta.db_table} t WHERE t.id = %s"
        thread.build(row)  # the row's first ``thread.width`` values
    """

    def __init__(self, model: type[M], alias: str, fields: Iterable[str] = (), exclude: Iterable[str] = ()) -> None:
        meta = model._meta
        wanted = [meta.get_field(name) for name in fields] or list(meta.concrete_fields)
        left_out = {meta.get_field(name) for name in exclude}
        chosen = {meta.pk, *wanted} - left_out
        # In the model's own order: ``Model.from_db`` fills the gaps with "deferred" by position.
        self.fields = [f for f in meta.concrete_fields if f in chosen]
        self._pk_index = self.fields.index(meta.pk)
        self.model = model
        self.alias = alias
        self.width = len(self.fields)
        self.attnames = [f.attname for f in self.fields]
        # Both backends the project runs on quote names the same way (double quotes).
        self.sql = ", ".join(f'{alias}."{f.column}"' for f in self.fields)
        self._converters: dict[str, list[Converter]] = {}

    def _converters_for(self, connection: BaseDatabaseWrapper) -> list[Converter]:
        if connection.vendor not in self._converters:
            found = []
            for i, field in enumerate(self.fields):
                column = field.get_col(self.alias)
                funcs = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
                if funcs:
                    found.append((i, funcs, column))
            self._converters[connection.vendor] = found
        return self._converters[connection.vendor]

    def build(
        self, row: Sequence[Any], start: int = 0, using: str = "default", seen: dict[Any, M] | None = None
    ) -> M | None:
        """The instance in ``row[start:start + width]``; None when its primary key is NULL (an outer join's miss).

        With ``seen`` (a dict kept across rows), a row that repeats an instance
        already built (the same person on many rows) gives that instance again.
        """
        values = list(row[start : start + self.width])
        pk = values[self._pk_index]
        if pk is None:
            return None
        if seen is not None and pk in seen:
            return seen[pk]
        connection = connections[using]
        for i, funcs, column in self._converters_for(connection):
            for func in funcs:
                values[i] = func(values[i], column, connection)
        instance = self.model.from_db(using, self.attnames, values)
        if seen is not None:
            seen[pk] = instance
        return instance

    def build_present(
        self, row: Sequence[Any], start: int = 0, using: str = "default", seen: dict[Any, M] | None = None
    ) -> M:
        """``build`` for a table the statement reads itself or joins inside: its instance is always there."""
        instance = self.build(row, start, using, seen)
        if instance is None:
            raise ValueError(f"The row has no {self.model.__name__} at {start}: an outer join's table? Use build().")
        return instance


def fetch_all(sql: str, params: Sequence[Any], using: str = "default") -> list[tuple[Any, ...]]:
    """The rows of a written-out statement; ``params`` fill its ``%s`` placeholders (never format values in)."""
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
        return rows


# --- Statements planned once per database session --------------------------------------------
# PostgreSQL plans a statement each time it is sent; for the member home's one
# statement (three counts, a page and the answered questions) planning took
# 1.8 ms of its 2.3 ms (EXPLAIN ANALYZE SUMMARY, bench data, 2026-12-02). So a
# few fixed statements are PREPAREd once per connection (connections live for
# CONN_MAX_AGE) and EXECUTEd after, with the plan made at PREPARE
# (plan_cache_mode=force_generic_plan for the session, copsite/settings.py).
# The member home in process, bench data, best of 5×20 requests: Latest 8.37 →
# 4.55 ms, Unread 8.29 → 3.54 ms, New 7.99 → 3.52 ms (prepared without forcing
# the generic plan, Latest stayed at 8.49 ms: PostgreSQL kept planning it).
# Behind a pooler that shares sessions between clients (PgBouncer's
# transaction mode), set PREPARED_STATEMENTS=0.
_PLACEHOLDER = re.compile(r"%%|%s")
# A connection keeps at most this many (a statement per shape: tab, number of communities…).
PREPARED_PER_CONNECTION = 500


def fetch_prepared(sql: str, params: Sequence[Any], using: str = "default") -> list[tuple[Any, ...]]:
    """``fetch_all``, but planned once per database session on PostgreSQL (the same rows, everywhere)."""
    connection = connections[using]
    if connection.vendor != "postgresql" or not settings.PREPARED_STATEMENTS:
        return fetch_all(sql, params, using)
    connection.ensure_connection()
    raw = connection.connection
    # Keyed by the live session, so a new connection (or a reconnect) starts with none prepared.
    session = (id(raw), raw.get_backend_pid())
    if connection.__dict__.get("_copsite_prepared_session") != session:
        connection.__dict__["_copsite_prepared_session"] = session
        connection.__dict__["_copsite_prepared"] = {}
    known: dict[str, str] = connection.__dict__["_copsite_prepared"]
    if sql not in known and len(known) >= PREPARED_PER_CONNECTION:
        return fetch_all(sql, params, using)
    name = known.get(sql) or "copsite_" + hashlib.sha1(sql.encode(), usedforsecurity=False).hexdigest()[:20]
    statement = f"EXECUTE {name} ({', '.join(['%s'] * len(params))})" if params else f"EXECUTE {name}"
    if sql not in known:
        # One round trip: PREPARE (the statement's text is ours, no values in it), then EXECUTE.
        numbers = iter(range(1, len(params) + 1))
        text = _PLACEHOLDER.sub(lambda m: "%%" if m.group() == "%%" else f"${next(numbers)}", sql)
        statement = f"PREPARE {name} AS {text}; {statement}"
    with connection.cursor() as cursor:
        cursor.execute(statement, list(params))
        rows = list(cursor.fetchall())
    known[sql] = name  # only once it ran: a failed PREPARE is tried again on the next call
    return rows


# --- A number in a JSON list of [first, last] ranges ----------------------------------------
# Read positions keep the posts shown past their prefix as such a list
# (discussions.reading); unread counts ask, per post, whether its number is in it.
# PostgreSQL stores JSONField as jsonb, SQLite as text read by its JSON1 functions.


def in_json_ranges_sql(vendor: str, number: str, ranges: str) -> str:
    """SQL true when ``number`` lies in one of the [first, last] pairs of the JSON array ``ranges`` (NULL: in none).

    ``number`` and ``ranges`` are SQL expressions (columns), never values.
    """
    if vendor == "postgresql":
        return (
            f"EXISTS (SELECT 1 FROM jsonb_array_elements({ranges}) AS rg"  # noqa: S608 - column names only
            f" WHERE {number} BETWEEN (rg.value->>0)::integer AND (rg.value->>1)::integer)"
        )
    return (
        f"EXISTS (SELECT 1 FROM json_each({ranges}) AS rg"  # noqa: S608 - column names only
        f" WHERE {number} BETWEEN json_extract(rg.value, '$[0]') AND json_extract(rg.value, '$[1]'))"
    )


class InJsonRanges(Expression):
    """``in_json_ranges_sql`` for the ORM: ``.exclude(InJsonRanges(F("number"), OuterRef("ranges")))``."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, number: Any, ranges: Any) -> None:
        super().__init__()
        self.number, self.ranges = number, ranges

    def get_source_expressions(self) -> list[Any]:
        return [self.number, self.ranges]

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        self.number, self.ranges = exprs

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, list[Any]]:
        number, number_params = compiler.compile(self.number)
        ranges, ranges_params = compiler.compile(self.ranges)
        # The ranges come first in the statement, then the number.
        return in_json_ranges_sql(connection.vendor, number, ranges), [*ranges_params, *number_params]


class CappedCount(Subquery):
    """How many rows a sliced queryset has, counting no further than its slice: ``queryset[:n]`` counts to n at most.

    A count shown as "99+" need not read a thousand rows to say so.
    """

    template = "(SELECT COUNT(*) FROM (%(subquery)s) AS capped)"
    output_field = IntegerField()
