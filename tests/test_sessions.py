"""Sessions: Django's cached_db backend (read from the cache, kept in the database)."""

from __future__ import annotations

import time
from datetime import timedelta
from importlib import import_module

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.utils import timezone

pytestmark = pytest.mark.django_db


def signed_in(client) -> bool:
    return "Log out" in client.get("/c/").content.decode()


def store(key: str):
    return import_module(settings.SESSION_ENGINE).SessionStore(key)


def test_a_session_keeps_the_person_signed_in_until_it_expires(client, member, settings):
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.cached_db"
    settings.SESSION_COOKIE_AGE = 2
    client.force_login(member)
    assert signed_in(client)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    time.sleep(2.2)  # the cached copy and the row expire together
    assert not signed_in(client)
    # The expired key is not written back to life by the visit that found it expired.
    assert not Session.objects.filter(session_key=key, expire_date__gt=timezone.now()).exists()


def test_a_session_outlives_the_cache_but_not_its_row(client, member):
    client.force_login(member)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    cache.delete(store(key).cache_key)  # a cache flush or a Redis restart
    assert signed_in(client)  # read back from the table
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    cache.delete(store(key).cache_key)
    assert not signed_in(client)


def test_a_session_ended_elsewhere_or_made_up_is_nobody(client, member):
    client.force_login(member)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    store(key).delete()  # "log out everywhere" or account deletion: the row and its cached copy
    assert not Session.objects.filter(session_key=key).exists()
    assert not signed_in(client)
    client.cookies[settings.SESSION_COOKIE_NAME] = "x" * 32  # a key nobody was given
    assert not signed_in(client)
    client.cookies[settings.SESSION_COOKIE_NAME] = "' OR '1'='1"
    assert not signed_in(client)


def test_logging_in_through_the_form_gives_a_fresh_key(client, member):
    client.cookies[settings.SESSION_COOKIE_NAME] = "planted" + "k" * 25  # session fixation attempt
    client.post("/accounts/login/", {"login": member.email, "password": "correct horse battery"})
    assert signed_in(client)
    assert client.cookies[settings.SESSION_COOKIE_NAME].value != "planted" + "k" * 25
