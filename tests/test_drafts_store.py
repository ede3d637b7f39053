"""The server's copy of a member's drafts (``/drafts/<key>/``, core/drafts.py): only theirs, small, never a posted text.

site.js keeps every field of a posting form in the browser and, for a member,
saves a copy here 1.5 s after typing stops, so the draft follows them to
another device (tests/test_browser_drafts_devices.py drives that). Here,
through the HTTP layer: who may read and write, what a draft may hold, the
limits, and that a post ends the server's copy for good — a save that
arrives late with the text as it was before the post brings nothing back.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from core import drafts
from core.models import Draft, PostedDraft
from core.tasks import sweep_drafts

pytestmark = pytest.mark.django_db

URL = "/drafts/{}/"
KEY = "thread-1"
# The session and its user; a savepoint, the member's lock, the posted mark, the draft's update (and on a first
# save: is there one, the insert, the oldest beyond the cap), the release.
SAVE_BUDGET = 10
READ_BUDGET = 4


def now_ms(delta: timedelta = timedelta()) -> int:
    return drafts.ms(timezone.now() + delta)


def put(client, key: str, fields: dict, updated: int | None = None, **extra):
    body = json.dumps({"fields": fields, "updated": updated if updated is not None else now_ms()})
    return client.put(URL.format(key), body, content_type="application/json", **extra)


def fields_of(client, key: str = KEY):
    response = client.get(URL.format(key))
    return response.json()["fields"] if response.status_code == 200 else None


NEW_THREAD = {"title": "Night rounds", "kind": "question", "tags": "sleep, nights", "body": "What do you check first?"}


# --- Save, read, delete ------------------------------------------------------------------------


def test_a_member_saves_a_draft_and_reads_it_back_from_another_session(client, world, django_assert_max_num_queries):
    client.force_login(world.member)
    with django_assert_max_num_queries(SAVE_BUDGET):
        response = put(client, KEY, NEW_THREAD)
    assert response.status_code == 200
    other_device = Client()
    other_device.force_login(world.member)
    with django_assert_max_num_queries(READ_BUDGET):
        response = other_device.get(URL.format(KEY))
    assert response.status_code == 200
    answer = response.json()
    assert answer["fields"] == NEW_THREAD and answer["posted"] is None
    assert abs(answer["now"] - now_ms()) < 5_000  # the browser sets its clock by it
    assert response["Cache-Control"].startswith("max-age=0")


def test_every_kind_of_field_is_kept_as_sent(client, world):
    client.force_login(world.facilitator)
    event = {
        "title": "Huddle",
        "kind": "in_person",
        "date": "2031-03-04",
        "start_time": "19:00",
        "link": "https://example.org/call",
        "tags": ["sleep", "nights"],  # a multiple select or a list of checkboxes
        "all_day": [],  # an unticked checkbox
        "description": "Line one\nline two — with “quotes” and émoji 🙂",
    }
    assert put(client, "event-4", event).status_code == 200
    assert fields_of(client, "event-4") == event


def test_no_draft_is_a_404_that_still_says_the_time(client, world):
    client.force_login(world.member)
    response = client.get(URL.format(KEY))
    assert response.status_code == 404
    assert response.json()["fields"] is None and response.json()["posted"] is None


def test_deleting_a_draft_leaves_nothing(client, world):
    client.force_login(world.member)
    put(client, KEY, NEW_THREAD)
    assert client.delete(URL.format(KEY)).status_code == 204
    assert client.get(URL.format(KEY)).status_code == 404
    assert client.delete(URL.format(KEY)).status_code == 204  # twice is fine (a retry)


def test_post_works_as_put_and_other_methods_are_refused(client, world):
    client.force_login(world.member)
    body = json.dumps({"fields": NEW_THREAD, "updated": now_ms()})
    assert client.post(URL.format(KEY), body, content_type="application/json").status_code == 200
    assert fields_of(client) == NEW_THREAD
    assert client.patch(URL.format(KEY), body, content_type="application/json").status_code == 405


def test_the_newer_text_wins_whichever_device_saves_last(client, world):
    client.force_login(world.member)
    assert put(client, KEY, {"body": "typed later on the laptop"}, now_ms(-timedelta(seconds=5))).status_code == 200
    # The phone's save, typed earlier, arrives afterwards: kept out, and told what is newer.
    response = put(client, KEY, {"body": "typed earlier on the phone"}, now_ms(-timedelta(seconds=30)))
    assert response.status_code == 409
    assert response.json()["fields"] == {"body": "typed later on the laptop"}
    assert fields_of(client) == {"body": "typed later on the laptop"}


def test_a_clock_running_fast_cannot_make_a_draft_win_for_ever(client, world):
    client.force_login(world.member)
    put(client, KEY, {"body": "from a clock a day ahead"}, now_ms(timedelta(days=1)))
    assert client.get(URL.format(KEY)).json()["updated"] <= now_ms()
    assert put(client, KEY, {"body": "typed now"}).status_code == 200
    assert fields_of(client) == {"body": "typed now"}


# --- Who may ------------------------------------------------------------------------------------


def test_a_visitor_keeps_drafts_in_the_browser_only(client, world):
    assert put(client, KEY, NEW_THREAD).status_code == 403
    assert client.get(URL.format(KEY)).status_code == 403
    assert client.delete(URL.format(KEY)).status_code == 403
    assert not Draft.objects.exists()


def test_another_member_can_neither_read_nor_delete_a_members_draft(client, world):
    client.force_login(world.member)
    put(client, KEY, NEW_THREAD)
    other = Client()
    other.force_login(world.outsider)
    response = other.get(URL.format(KEY))
    assert response.status_code == 404 and "Night rounds" not in response.content.decode()
    assert other.delete(URL.format(KEY)).status_code == 204  # deletes their own (none)
    put(other, KEY, {"body": "Otto's own"})
    assert fields_of(client) == NEW_THREAD
    assert fields_of(other) == {"body": "Otto's own"}


def test_writes_need_the_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.member)
    assert put(client, KEY, NEW_THREAD).status_code == 403
    assert client.delete(URL.format(KEY)).status_code == 403
    body = json.dumps({"fields": NEW_THREAD, "updated": now_ms()})
    assert client.post(URL.format(KEY), body, content_type="application/json").status_code == 403
    assert not Draft.objects.exists()
    # With the token a page hands out (site.js reads the form's), the save goes through.
    page = client.get("/c/commons/threads/new/")
    token = page.content.decode().split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    assert put(client, KEY, NEW_THREAD, HTTP_X_CSRFTOKEN=token).status_code == 200
    assert client.get(URL.format(KEY)).status_code == 200  # reads need none


# --- What a draft may hold ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'"a string"',
        json.dumps({"fields": {"body": "x"}}).encode(),  # no time
        json.dumps({"fields": {"body": "x"}, "updated": True}).encode(),
        json.dumps({"fields": {"body": "x"}, "updated": "2031-01-01"}).encode(),
        json.dumps({"fields": {"body": "x"}, "updated": 12}).encode(),  # 1970
        json.dumps({"fields": {"body": "x"}, "updated": 2**60}).encode(),
        json.dumps({"fields": {}, "updated": 1_800_000_000_000}).encode(),
        json.dumps({"fields": ["body"], "updated": 1_800_000_000_000}).encode(),
        json.dumps({"fields": {"body": "x"}, "updated": 1_800_000_000_000, "user": 1}).encode(),
        json.dumps({"fields": {"body": 12}, "updated": 1_800_000_000_000}).encode(),
        json.dumps({"fields": {"body": None}, "updated": 1_800_000_000_000}).encode(),
        json.dumps({"fields": {"body": {"nested": "x"}}, "updated": 1_800_000_000_000}).encode(),
        json.dumps({"fields": {"tags": ["a", ["b"]]}, "updated": 1_800_000_000_000}).encode(),
        json.dumps({"fields": {"tags": ["a"] * 201}, "updated": 1_800_000_000_000}).encode(),
        json.dumps({"fields": {"body": "nul \x00 here"}, "updated": 1_800_000_000_000}).encode(),
        b'{"fields": {"body": "lone \\ud800 surrogate"}, "updated": 1800000000000}',
        json.dumps({"fields": {"csrfmiddlewaretoken": "x"}, "updated": 1_800_000_000_000}).encode(),
        json.dumps({"fields": {"password1": "hunter2"}, "updated": 1_800_000_000_000}).encode(),
        json.dumps({"fields": {"submission_key": "abc"}, "updated": 1_800_000_000_000}).encode(),
        json.dumps({"fields": {"draft_key": "thread-2"}, "updated": 1_800_000_000_000}).encode(),
        json.dumps({"fields": {"a b": "x"}, "updated": 1_800_000_000_000}).encode(),
        json.dumps({"fields": {"<script>": "x"}, "updated": 1_800_000_000_000}).encode(),
        json.dumps({"fields": {"x" * 81: "x"}, "updated": 1_800_000_000_000}).encode(),
        json.dumps({"fields": {f"f{i}": "x" for i in range(65)}, "updated": 1_800_000_000_000}).encode(),
    ],
    ids=lambda body: body[:40].decode("utf-8", "replace"),
)
def test_hostile_saves_are_refused_with_400_and_keep_nothing(client, world, body):
    client.force_login(world.member)
    response = client.put(URL.format(KEY), body, content_type="application/json")
    assert response.status_code == 400
    assert "error" in response.json()
    assert not Draft.objects.exists()


def test_a_draft_over_64_kb_is_refused_and_one_just_under_is_kept(client, world):
    client.force_login(world.member)
    assert put(client, KEY, {"body": "x" * (drafts.MAX_BYTES + 1)}).status_code == 400
    # Split across fields, the total counts.
    assert put(client, KEY, {"body": "x" * 40_000, "summary": "y" * 30_000}).status_code == 400
    # Characters beyond ASCII count as the bytes they take.
    assert put(client, KEY, {"body": "é" * 40_000}).status_code == 400
    assert not Draft.objects.exists()
    assert put(client, KEY, {"body": "x" * 60_000}).status_code == 200
    assert len(fields_of(client)["body"]) == 60_000


def test_a_body_announced_as_huge_is_refused_before_it_is_read(client, world):
    client.force_login(world.member)
    response = client.generic(
        "PUT", URL.format(KEY), b"{}", content_type="application/json", CONTENT_LENGTH=str(50 * 1024 * 1024)
    )
    assert response.status_code == 400


@pytest.mark.parametrize("key", ["Thread-1", "thread_1", "a" * 61, "thread-1.chat-2", "%3Cscript%3E", "thread%0A1"])
def test_a_key_not_of_the_templates_shape_is_a_400(client, world, key):
    client.force_login(world.member)
    assert client.get(URL.format(key)).status_code == 400
    assert put(client, key, NEW_THREAD).status_code == 400
    assert not Draft.objects.exists()


@pytest.mark.parametrize("path", ["/drafts/", "/drafts/a/b/"])
def test_paths_beside_a_key_are_404(client, world, path):
    client.force_login(world.member)
    assert client.get(path).status_code == 404


# --- Limits -------------------------------------------------------------------------------------


def test_drafts_are_rate_limited_per_member_with_a_retry_after(client, world, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "draft": ("3/60", None)}
    client.force_login(world.member)
    for n in range(3):
        assert put(client, KEY, {"body": f"save {n}"}).status_code == 200
    response = put(client, KEY, {"body": "too fast"})
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert "faster than this site allows" in response.json()["error"]
    assert Draft.objects.get(user=world.member, key=KEY).fields == {"body": "save 2"}
    # Another member is not held up by it.
    other = Client()
    other.force_login(world.facilitator)
    assert put(other, KEY, {"body": "Fern's"}).status_code == 200


def test_the_default_limit_lets_a_member_type_all_hour():
    person, _ = django_settings.RATE_LIMITS["draft"]
    per_minute = dict((seconds, count) for count, seconds in (map(int, p.split("/")) for p in person.split(",")))
    # One save 1.5 s after typing stops, plus reads: at least a save a second for a minute,
    # and one every two seconds for an hour.
    assert per_minute[60] >= 60 and per_minute[3600] >= 1800


def test_a_member_keeps_at_most_50_drafts_and_the_oldest_goes(client, world):
    client.force_login(world.member)
    old = timezone.now() - timedelta(days=1)
    Draft.objects.bulk_create(
        Draft(
            user=world.member, key=f"reply-{n}-thread", fields={"body": str(n)}, updated_at=old + timedelta(minutes=n)
        )
        for n in range(drafts.PER_MEMBER)
    )
    Draft.objects.create(user=world.outsider, key="reply-0-thread", fields={"body": "Otto's"}, updated_at=old)
    assert put(client, "thread-9", NEW_THREAD).status_code == 200
    keys = set(Draft.objects.filter(user=world.member).values_list("key", flat=True))
    assert len(keys) == drafts.PER_MEMBER
    assert "reply-0-thread" not in keys and {"reply-1-thread", "thread-9"} <= keys
    assert Draft.objects.filter(user=world.outsider).count() == 1  # another member's are not counted
    # Saving one already kept drops nothing.
    assert put(client, "reply-1-thread", {"body": "again"}).status_code == 200
    assert Draft.objects.filter(user=world.member).count() == drafts.PER_MEMBER


# --- A post ends the server's copy --------------------------------------------------------------


def test_posting_deletes_the_members_draft_in_the_same_answer_that_names_it(client, world, conversation):
    client.force_login(world.member)
    thread = conversation.thread
    key = f"reply-{thread.pk}-thread"
    put(client, key, {"body": "Abbey on nights."})
    put(client, "thread-1", NEW_THREAD)  # another form's draft stays
    response = client.post(f"/c/commons/t/{thread.pk}/reply/", {"body": "Abbey on nights.", "draft_key": key})
    assert response.status_code == 302 and response.cookies[drafts.COOKIE].value == key
    assert client.get(URL.format(key)).status_code == 404
    assert client.get(URL.format(key)).json()["posted"] is not None
    assert fields_of(client) == NEW_THREAD


def test_a_late_save_of_the_text_before_the_post_brings_nothing_back(client, world, conversation):
    """Save, post, then the same text saved late (a save sent as the page was left, another device): no draft."""
    client.force_login(world.member)
    thread = conversation.thread
    key = f"reply-{thread.pk}-thread"
    typed = now_ms(-timedelta(seconds=2))
    assert put(client, key, {"body": "Abbey on nights."}, typed).status_code == 200
    client.post(f"/c/commons/t/{thread.pk}/reply/", {"body": "Abbey on nights.", "draft_key": key})
    late = put(client, key, {"body": "Abbey on nights."}, typed + 1_000)
    assert late.status_code == 409 and late.json()["posted"] >= typed + 1_000
    phone = Client()
    phone.force_login(world.member)
    assert phone.get(URL.format(key)).status_code == 404
    assert not Draft.objects.filter(user=world.member, key=key).exists()
    # A new text typed after the post is a new draft.
    assert put(client, key, {"body": "And PAINAD."}, now_ms(timedelta(seconds=1))).status_code == 200
    assert fields_of(phone, key) == {"body": "And PAINAD."}


def test_a_post_from_a_visitor_or_with_a_hostile_key_touches_no_draft(client, world, conversation):
    client.force_login(world.member)
    put(client, KEY, NEW_THREAD)
    thread = conversation.thread
    client.post(f"/c/commons/t/{thread.pk}/reply/", {"body": "Fine", "draft_key": "thread-1;x"})
    assert fields_of(client) == NEW_THREAD and not PostedDraft.objects.exists()


def test_a_refused_post_keeps_the_servers_draft(client, world, conversation):
    client.force_login(world.member)
    thread = conversation.thread
    key = f"reply-{thread.pk}-thread"
    refused = "line\n" * 1001  # over the renderer's line limit
    put(client, key, {"body": refused})
    response = client.post(f"/c/commons/t/{thread.pk}/reply/", {"body": refused, "draft_key": key})
    assert response.status_code == 200 and "too many lines" in response.content.decode()
    assert fields_of(client, key) == {"body": refused}


def test_posting_a_new_thread_ends_its_draft(client, world):
    client.force_login(world.member)
    key = f"thread-{world.public.pk}"
    put(client, key, NEW_THREAD)
    response = client.post(
        "/c/commons/threads/new/",
        {"title": "Night rounds", "kind": "question", "body": "What first?", "tags": "sleep", "draft_key": key},
    )
    assert response.status_code == 302
    assert client.get(URL.format(key)).status_code == 404


# --- The sweep ----------------------------------------------------------------------------------


def test_the_nightly_sweep_deletes_drafts_untouched_for_30_days(world):
    now = timezone.now()
    Draft.objects.create(user=world.member, key="thread-1", fields={"body": "old"}, updated_at=now - timedelta(days=31))
    Draft.objects.create(
        user=world.member, key="thread-2", fields={"body": "recent"}, updated_at=now - timedelta(days=29)
    )
    PostedDraft.objects.create(user=world.member, key="thread-3", posted_at=now - timedelta(days=31))
    PostedDraft.objects.create(user=world.member, key="thread-4", posted_at=now - timedelta(days=1))
    assert sweep_drafts() == 1
    assert list(Draft.objects.values_list("key", flat=True)) == ["thread-2"]
    assert list(PostedDraft.objects.values_list("key", flat=True)) == ["thread-4"]
    assert sweep_drafts() == 0  # twice is harmless


def test_the_sweep_is_on_beats_schedule():
    entry = next(e for e in django_settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "copsite.sweep_drafts")
    assert entry["task"] == sweep_drafts.name


# --- A member's data ----------------------------------------------------------------------------


def test_a_members_drafts_are_in_their_data_download_and_no_one_elses(client, world):
    from portability import member

    client.force_login(world.member)
    put(client, KEY, NEW_THREAD)
    other = Client()
    other.force_login(world.outsider)
    put(other, "thread-2", {"body": "Otto's own"})
    data = member.collect(world.member)
    assert [(d["form"], d["fields"]) for d in data["drafts"]] == [(KEY, NEW_THREAD)]
    assert "Otto's own" not in json.dumps(data)


def test_deleting_the_account_deletes_its_drafts(client, world):
    from portability import deletion

    client.force_login(world.member)
    put(client, KEY, NEW_THREAD)
    PostedDraft.objects.create(user=world.member, key="thread-2", posted_at=timezone.now())
    Draft.objects.create(user=world.outsider, key=KEY, fields={"body": "Otto's"}, updated_at=timezone.now())
    deletion.delete_account(world.member)
    assert not Draft.objects.filter(user=world.member).exists()
    assert not PostedDraft.objects.filter(user=world.member).exists()
    assert Draft.objects.filter(user=world.outsider).exists()
