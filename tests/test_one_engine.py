"""One template engine: every copsite template is Jinja2, and allauth's pages still wear the site's layout."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.conf import settings
from django.template import engines, loader
from django.template.backends.django import get_installed_libraries
from django.utils import timezone

from tests.accounts import LOGIN

TEMPLATES = Path(settings.BASE_DIR) / "templates"
# The one Django template of ours: allauth's layout, which hands allauth's pages to templates/base.html.
BRIDGE = TEMPLATES / "django" / "allauth" / "layouts" / "base.html"
# Django's template language, which Jinja2 would not read the same way (or would print as text).
DJANGO_ONLY = re.compile(r"\{%-?\s*(load|url|csrf_token|empty|comment|now|cycle|firstof|spaceless)\b|forloop\.|\|\w+:")


def copsite_templates() -> list[str]:
    return sorted(
        str(path.relative_to(TEMPLATES))
        for path in TEMPLATES.rglob("*")
        if path.is_file() and not path.is_relative_to(BRIDGE.parents[2])
    )


def own_apps() -> list:
    """copsite's apps: the packages at the top of the repository (not Django's, allauth's or the venv's)."""
    base = Path(settings.BASE_DIR).resolve()
    return [config for config in apps.get_app_configs() if Path(config.path).resolve().parent == base]


def test_the_django_engine_finds_no_template_of_ours_but_allauths_layout():
    folders = [*engines["django"].engine.dirs, *(Path(config.path) / "templates" for config in own_apps())]
    assert Path(settings.BASE_DIR) / "templates" not in folders
    ours = [path for folder in folders for path in Path(folder).rglob("*") if path.is_file()]
    assert ours == [BRIDGE]


def test_every_template_of_ours_is_jinja2_and_found_as_jinja2():
    names = copsite_templates()
    assert "base.html" in names and "discussions/_posts.html" in names and "allauth/elements/fields.html" in names
    for name in names:
        template = loader.get_template(name)  # what render() and render_to_string() would draw
        assert template.backend.name == "jinja2", name
        assert not DJANGO_ONLY.search((TEMPLATES / name).read_text()), f"{name} still speaks Django's template language"


def test_the_only_django_template_tags_of_ours_are_the_allauth_bridge():
    ours_apps = {config.name for config in own_apps()}
    libraries = get_installed_libraries()  # every {% load %}-able library: name → module
    ours = {name: module for name, module in libraries.items() if module.split(".")[0] in ours_apps}
    assert ours == {"site_layout": "core.templatetags.site_layout"}


@pytest.mark.django_db
def test_the_login_page_wears_the_site_header_and_footer(client):
    page = client.get(LOGIN).content.decode()
    header = page.split('<header class="site-header">', 1)[1].split("</header>", 1)[0]
    assert f'<a class="brand" href="/">{settings.COPSITE_NAME}</a>' in header
    assert '<a href="/c/">Communities</a>' in header and '<a href="/search/">Search</a>' in header
    assert 'href="/accounts/signup/">Sign up</a>' in header
    assert '<footer class="site-footer">' in page and "a forum for communities of practice" in page
    assert '<meta name="color-scheme" content="light dark">' in page and "/css/site.css" in page
    assert re.search(r"<title>Log in · [^<]+</title>", page)
    # allauth's own form, drawn field by field by the site's macro (label, control, errors).
    main = page.split('<main id="main"', 1)[1].split("</main>", 1)[0]
    assert '<div class="narrow account-page">' in main
    assert re.search(r'<div class="field">\s*<label for="id_login">', main)
    assert 'name="csrfmiddlewaretoken"' in main
    assert page.count("<html") == 1 and page.count('<header class="site-header">') == 1


@pytest.mark.django_db
def test_an_allauth_page_shows_the_members_menu_and_the_message_of_what_they_did(client, member):
    client.post(LOGIN, {"login": member.email, "password": "correct horse battery"})
    client.post("/accounts/email/", {"action_add": "", "email": "mira.second@example.org"})
    page = client.get("/accounts/email/").content.decode()
    assert '<span class="account-name">Mira Member</span>' in page
    messages = page.split('<div class="wrap messages" role="status" aria-live="polite">', 1)[1].split("</div>", 1)[0]
    assert "mira.second@example.org" in messages
    assert re.search(r"<h1>\s*Email Address", page.split('<main id="main"', 1)[1])


def test_an_email_subject_is_plain_text_and_its_html_part_is_escaped():
    context = {"inviter": {"name": "Seán O'Brien & <Co>"}, "community": {"name": 'Ward "A" Commons'}}
    subject = loader.render_to_string("communities/email/invitation_subject.txt", context)
    assert subject == 'Seán O\'Brien & <Co> invites you to Ward "A" Commons\n'
    html = loader.render_to_string("communities/email/invitation.html", {**context, "SITE_NAME": "copsite"})
    assert "Seán O&#39;Brien &amp; &lt;Co&gt; invites you to join <strong>Ward &#34;A&#34; Commons</strong>" in html


def test_dates_read_in_the_readers_time_zone_as_with_django():
    when = datetime(2025, 3, 1, 17, 30, tzinfo=ZoneInfo("UTC"))
    template = engines["jinja2"].from_string('{{ when|date("D j M, H:i e") }}|{{ when|date("c") }}')
    with timezone.override("Europe/Paris"):
        assert template.render({"when": when}) == "Sat 1 Mar, 18:30 CET|2025-03-01T18:30:00+01:00"
    in_tokyo = engines["jinja2"].from_string('{{ when|timezone("Asia/Tokyo")|date("H:i e") }}')
    with timezone.override("Europe/Paris"):
        assert in_tokyo.render({"when": when}) == "02:30 JST"


def test_help_text_is_text_unless_it_is_marked_safe():
    from django import forms
    from django.utils.html import format_html

    class Example(forms.Form):
        plain = forms.CharField(help_text="The address: /c/<slug>/ & more.")
        marked = forms.CharField(help_text=format_html("Your username is <strong>{}</strong>.", "<mira>"))

    macro = engines["jinja2"].from_string('{% from "includes/forms.html" import fields %}{{ fields(form) }}')
    html = macro.render({"form": Example()})
    assert '<div class="help" id="id_plain_helptext">The address: /c/&lt;slug&gt;/ &amp; more.</div>' in html
    assert "Your username is <strong>&lt;mira&gt;</strong>." in html


@pytest.mark.django_db
def test_allauths_help_with_a_link_stays_a_link(client):
    page = client.get(LOGIN).content.decode()
    assert (
        '<div class="help" id="id_password_helptext"><a href="/accounts/password/reset/">Forgot your password?</a>'
        in page
    )
