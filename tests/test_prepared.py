"""core.db.fetch_prepared: a statement planned once per PostgreSQL session gives the rows fetch_all gives."""

from __future__ import annotations

import pytest
from django.db import connection

from core.db import fetch_all, fetch_prepared

pytestmark = pytest.mark.django_db

SQL = "SELECT %s + 1, 'a%%b', %s"


def test_the_rows_are_fetch_alls_and_each_call_is_one_round_trip(django_assert_num_queries):
    with django_assert_num_queries(1) as first:
        assert fetch_prepared(SQL, [41, "x"]) == [(42, "a%b", "x")]
    with django_assert_num_queries(1) as again:
        rows = fetch_prepared(SQL, [1, "y"])
    assert rows == fetch_all(SQL, [1, "y"]) == [(2, "a%b", "y")]
    if connection.vendor == "postgresql":
        assert first.captured_queries[0]["sql"].startswith("PREPARE copsite_")
        assert again.captured_queries[0]["sql"].startswith("EXECUTE copsite_")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_a_new_session_prepares_again(django_assert_num_queries):
    assert fetch_prepared(SQL, [1, "a"]) == [(2, "a%b", "a")]
    connection.close()  # a reconnect (CONN_MAX_AGE, a health check) starts a session with nothing prepared
    with django_assert_num_queries(1) as after:
        assert fetch_prepared(SQL, [2, "b"]) == [(3, "a%b", "b")]
    assert after.captured_queries[0]["sql"].startswith("PREPARE copsite_")


def test_it_can_be_turned_off_for_poolers_that_share_sessions(settings, django_assert_num_queries):
    settings.PREPARED_STATEMENTS = False
    with django_assert_num_queries(1) as plain:
        assert fetch_prepared(SQL, [5, "z"]) == [(6, "a%b", "z")]
    assert plain.captured_queries[0]["sql"].startswith("SELECT")
