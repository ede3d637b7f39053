"""Full-text search helpers shared by the apps: stored vectors on PostgreSQL, a plain fallback elsewhere."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.postgres.search import SearchVector
from django.db import connection
from django.db.models import QuerySet, TextField, Value
from django.db.models.expressions import CombinedExpression

if TYPE_CHECKING:
    from django.db import migrations
    from django.db.backends.base.schema import BaseDatabaseSchemaEditor
    from django.db.migrations.state import StateApps

SEARCH_CONFIG = "english"


def full_text() -> bool:
    return connection.vendor == "postgresql"


def update_vector(queryset: QuerySet[Any], weighted_texts: dict[str, str]) -> None:
    """Store a weighted ``search_vector`` on the rows of ``queryset`` (one UPDATE; no-op without PostgreSQL).

    ``weighted_texts`` maps a weight to its text, e.g. {"A": title, "B": body}.
    """
    if not full_text():
        return
    vector: SearchVector | CombinedExpression | None = None
    for weight, text in weighted_texts.items():
        part = SearchVector(Value(text or "", output_field=TextField()), weight=weight, config=SEARCH_CONFIG)
        vector = part if vector is None else vector + part
    queryset.update(search_vector=vector)


def gin_index_operations(table: str, index: str) -> list[migrations.RunPython]:
    """Migration operations creating a GIN index on ``search_vector`` on PostgreSQL only."""
    from django.db import migrations

    def create(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{index}" ON "{table}" USING gin ("search_vector")')

    def drop(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f'DROP INDEX IF EXISTS "{index}"')

    return [migrations.RunPython(create, drop)]
