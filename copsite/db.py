"""Small query helpers shared by the apps."""

from __future__ import annotations

from django.db.models import Model, QuerySet


def one_or_none(queryset: QuerySet) -> Model | None:
    """The row a unique lookup names, or None.

    ``.first()`` adds ``ORDER BY id`` so that "first" means something; for a
    lookup by a unique key there is nothing to order, and building the
    ordering was a tenth of the query's cost in Django on the busiest pages.
    """
    return next(iter(queryset[:1]), None)
