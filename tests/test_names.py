"""Telling people apart: look-alike usernames are refused; a shared display name shows the username."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from accounts.models import User
from discussions import services
from tests import factories
from tests.accounts import SIGNUP, signup_data

pytestmark = pytest.mark.django_db

CYRILLIC_A = "\u0430"  # "а", drawn exactly like the Latin "a"


# --- Usernames: no look-alikes ----------------------------------------------------------


@pytest.mark.parametrize(
    "lookalike",
    [
        f"{CYRILLIC_A}mara",  # Cyrillic а
        "\uff41mara",  # fullwidth ａ
        "arnara",  # "rn" for "m"
        "AMARA",
    ],
)
def test_a_username_that_looks_like_someone_elses_is_refused_at_sign_up(client, make_user, lookalike):
    make_user("amara", display_name="Amara Okafor")
    response = client.post(SIGNUP, signup_data(username=lookalike, email="impostor@example.org"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "looks too much like someone else" in page or "already exists" in page, page
    # What was typed comes back, and no account exists.
    assert 'value="impostor@example.org"' in page
    assert not User.objects.filter(email="impostor@example.org").exists()


def test_digits_that_pass_for_letters_count_as_the_same_username(client, make_user):
    make_user("paypal")
    response = client.post(SIGNUP, signup_data(username="paypa1", email="p1@example.org"))
    assert "looks too much like someone else" in response.content.decode()


def test_a_look_alike_of_a_reserved_name_is_refused(client):
    response = client.post(SIGNUP, signup_data(username=f"{CYRILLIC_A}dmin", email="x@example.org"))
    assert response.status_code == 200
    assert "This username is reserved." in response.content.decode()
    assert not User.objects.filter(email="x@example.org").exists()


def test_a_username_that_only_resembles_another_in_meaning_is_accepted(client, make_user):
    make_user("amara")
    response = client.post(SIGNUP, signup_data(username="amara2", email="amara2@example.org"))
    assert response.status_code == 302
    assert User.objects.filter(username="amara2").exists()


def test_a_username_set_in_the_admin_is_checked_too(make_user):
    make_user("amara")
    other = make_user("bea")
    other.username = f"{CYRILLIC_A}mara"
    with pytest.raises(ValidationError) as refused:
        other.full_clean()
    assert "looks too much like someone else" in str(refused.value.message_dict["username"])
    other.username = "bea"
    other.full_clean()  # one's own username is no look-alike of itself


# --- Shared display names ---------------------------------------------------------------


@pytest.fixture
def two_amaras(world, make_user):
    """Two different people called Amara Okafor, both members of the public community."""
    first = make_user("amara", display_name="Amara Okafor")
    second = make_user("amara2", display_name="Amara Okafor")
    for person in (first, second):
        factories.membership(person, world.public)
    return first, second


def _thread_with_replies(world, *people):
    """Mira's thread with one reply from each of ``people``."""
    return factories.thread(world.member, world.public, title="Night rounds", body="Hi", replies=len(people), by=people)


def test_two_people_with_one_display_name_are_told_apart_by_username(world, two_amaras):
    thread = _thread_with_replies(world, *two_amaras, world.facilitator)
    page = Client().get(thread.get_absolute_url())
    text = page.content.decode()
    assert "Amara Okafor (@amara)" in text and "Amara Okafor (@amara2)" in text
    # Someone whose name is theirs alone is shown by it, plain.
    assert "Fern Facilitator" in text and "Fern Facilitator (@" not in text
    assert "Mira Member (@" not in text


def test_a_look_alike_display_name_counts_as_shared(world, two_amaras, make_user):
    impostor = make_user("zed", display_name=f"{CYRILLIC_A}mara Okafor")
    factories.membership(impostor, world.public)
    thread = _thread_with_replies(world, impostor)
    text = Client().get(thread.get_absolute_url()).content.decode()
    assert f"{CYRILLIC_A}mara Okafor (@zed)" in text


def test_a_display_name_like_someone_elses_username_shows_its_own_username(world, make_user):
    make_user("bea")  # no display name: shown as "bea"
    copycat = make_user("cat", display_name="Bea")
    factories.membership(copycat, world.public)
    thread = _thread_with_replies(world, copycat)
    assert "Bea (@cat)" in Client().get(thread.get_absolute_url()).content.decode()


def test_the_username_goes_away_once_the_name_is_no_longer_shared(
    client, world, two_amaras, django_capture_on_commit_callbacks
):
    first, second = two_amaras
    thread = _thread_with_replies(world, first, second)
    client.force_login(second)
    assert "Amara Okafor (@amara2)" in Client().get(thread.get_absolute_url()).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/settings/profile/", {"display_name": "Amara O.", "bio": "", "time_zone": "UTC"})
    assert response.status_code == 302
    text = Client().get(thread.get_absolute_url()).content.decode()
    assert "Amara Okafor" in text and "(@amara)" not in text
    assert "Amara O." in text and "(@amara2)" not in text

    # Taking the name again marks both once more: the change is seen by the other person's posts too.
    with django_capture_on_commit_callbacks(execute=True):  # the page cache moves on after commit
        client.post("/settings/profile/", {"display_name": "amara okafor", "bio": "", "time_zone": "UTC"})
    text = Client().get(thread.get_absolute_url()).content.decode()
    assert "Amara Okafor (@amara)" in text and "amara okafor (@amara2)" in text


def test_a_deleted_namesake_leaves_the_other_with_a_plain_name(world, two_amaras):
    from portability.deletion import delete_account

    first, second = two_amaras
    thread = _thread_with_replies(world, first, second)
    delete_account(second)
    text = Client().get(thread.get_absolute_url()).content.decode()
    assert "Amara Okafor" in text and "(@amara)" not in text


def test_the_thread_list_and_library_show_the_username_of_a_shared_name(client, world, two_amaras):
    first, second = two_amaras
    services.start_thread(first, world.public, title="First Amara's thread", kind="discussion", body="Hello")
    factories.resource(
        second, world.public, kind="link", title="Second Amara's link", url="https://example.org/x", description="x"
    )
    threads = Client().get("/c/commons/").content.decode()
    assert "Amara Okafor (@amara)" in threads
    library = Client().get("/c/commons/library/").content.decode()
    assert "Amara Okafor (@amara2)" in library


def test_refresh_names_rebuilds_keys_and_flags_from_scratch(world, two_amaras):
    from io import StringIO

    from django.core.management import call_command

    User.objects.update(username_key="", name_key="", name_shared=False)
    out = StringIO()
    call_command("refresh_names", stdout=out)
    assert set(User.objects.filter(name_shared=True).values_list("username", flat=True)) == {"amara", "amara2"}
    assert User.objects.get(username="amara").username_key == "amara"
    call_command("refresh_names", stdout=out)
    assert out.getvalue().splitlines()[-1] == "Updated 0 name key(s) or flag(s)."


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_people_taking_the_same_name_at_once_are_both_marked(make_user):
    from tests.concurrency import run_together

    first, second = make_user("una"), make_user("ula")

    def rename(user: User):
        def call():
            user.display_name = "Una Ula"
            user.save()

        return call

    for _ in range(5):
        User.objects.filter(pk__in=[first.pk, second.pk]).update(display_name="", name_key="", name_shared=False)
        first.display_name = second.display_name = ""
        results = run_together(rename(first), rename(second))
        assert results == [None, None], results
        assert list(User.objects.filter(pk__in=[first.pk, second.pk]).values_list("name_shared", flat=True)) == [
            True,
            True,
        ]
