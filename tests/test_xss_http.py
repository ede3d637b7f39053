"""Hostile input through the real forms, checked on every page that shows it.

Vectors go in through the reply form and the new-thread form as a member
whose display name is itself hostile; then every page that shows them is
parsed the way a browser would (html5lib) and checked:

* no ``<script>`` but the site's own (``src`` under ``/static/``), no inline one;
* no attribute starting with ``on`` anywhere; no ``<base>``, refresh ``<meta>``,
  iframe/object/embed anywhere;
* inside ``.user-content``: none of iframe/object/embed/form/svg/math/style/…,
  no ``style`` or ``hx-*`` attribute, only the attributes markdown produces,
  and every href/src is http(s)/mailto, site-relative (``/x``, not ``//x``) or
  a ``#fragment`` (images: http(s) only) — URLs judged after the browser's own
  clean-up (tabs/newlines removed, leading controls stripped) and with no
  invisible characters left in them;
* hostile titles and names come out as text (``<title>`` and body), and
  template syntax typed by people is shown literally, not evaluated.

Not covered here (not in this issue): search results, feeds and digest
emails — the rows of A-xss-http for those belong with their features.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from urllib.parse import urldefrag

import html5lib
import pytest
from django.conf import settings as django_settings
from django.test import Client

from discussions import services
from discussions.models import Post, Thread
from tests import factories

pytestmark = pytest.mark.django_db

ZW = "\u200b"
VECTORS = [
    # Raw HTML (switched off in the parser: must come out as text).
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)><circle r=10></circle></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>",
    '<iframe src="javascript:alert(1)"></iframe>',
    '<form action="https://evil.example/"><input name=p><button formaction="javascript:alert(1)">Go</button></form>',
    "<style>body{display:none}</style>",
    '<a href="javascript:alert(1)">raw link</a>',
    '<a href="&#x6A;avascript:alert(1)">raw entity link</a>',
    '<div style="background:url(javascript:alert(1))">styled</div>',
    '<object data="javascript:alert(1)"></object><embed src="javascript:alert(1)">',
    '<a href="https://ok.example/" hx-get="/c/commons/" hx-trigger="load">htmx link</a>',
    "<details open ontoggle=alert(1)><summary>s</summary></details>",
    '<!--<img src="--><img src=x onerror=alert(1)//">',
    '<base href="https://evil.example/"><meta http-equiv="refresh" content="0;url=https://evil.example/">',
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    "<xmp><script>alert(1)</script></xmp>",
    # Markdown links and images with hostile schemes.
    "[js](javascript:alert(1))",
    "[js](JaVaScRiPt:alert(1))",
    "[js](javascript:alert%281%29)",
    "[js](&#106;avascript:alert(1))",
    "[js](&#x6A;avascript&#x3A;alert(1))",
    "[js](javascript&colon;alert(1))",
    f"[js](java{ZW}script:alert(1))",
    f"[js](javascript{ZW}:alert(1))",
    "[js](java&#9;script:alert(1))",
    "[js](&#0;javascript:alert(1))",
    "[js](<javascript:alert(1)>)",
    "[js]( javascript:alert(1))",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[vb](vbscript:msgbox(1))",
    "![img](javascript:alert(1))",
    "![img](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "![img](vbscript:alert(1))",
    "![img](/accounts/logout/)",
    # Reference definitions.
    "[ref link][r1]\n\n[r1]: javascript:alert(1)",
    "![ref img][r2]\n\n[r2]: data:text/html,<script>alert(1)</script>",
    "[ref ent][r3]\n\n[r3]: &#106;avascript:alert(1)",
    # Attribute break-outs through titles, alt text and URLs.
    '[title](https://ok.example/ "t\\" onmouseover=\\"alert(1)")',
    "[title](https://ok.example/ 'x\\' onfocus=alert(1) autofocus x=\\'')",
    '[quote](https://ok.example/" onclick="alert(1))',
    '![alt" onerror="alert(1)](https://ok.example/i.png)',
    '<https://ok.example/"onmouseover="alert(1)>',
    "https://ok.example/<script>alert(1)</script>",
    "[x](//evil.example/path) [y](/\\evil.example) [z](\\\\evil.example)",
    "[mail](mailto:x@example.org?body=%3Cscript%3E) <x@example.org>",
    # Tables and code keep markup as text.
    "| a | b |\n|---|---|\n| <img src=x onerror=alert(1)> | [js](javascript:alert(1)) |",
    "`<script>alert(1)</script>` and\n\n```html\n<script>alert(1)</script>\n```",
    # Template syntax is text.
    '{{ request.user.username }} {% now "Y" %} {% debug %} {{ 7|add:1 }}',
]
TEMPLATE_LITERALS = ["{{ request.user.username }}", '{% now "Y" %}', "{% debug %}", "{{ 7|add:1 }}"]

HOSTILE_TITLE = (
    '</title><script>alert("t")</script> {{ request.user.username }} {% now "Y" %} "><img src=x onerror=alert(1)>'
)
HOSTILE_NAME = "\"><script>alert('n')</script>{{ 7|add:1 }}"
HOSTILE_TAGS = '<script>x</script>, " onmouseover="alert(1)'
HOSTILE_REASON = '<img src=x onerror=alert(1)> "><script>alert(1)</script>'

FORBIDDEN_ANYWHERE = {"iframe", "frame", "frameset", "object", "embed", "applet", "base", "portal"}
FORBIDDEN_IN_USER_CONTENT = FORBIDDEN_ANYWHERE | {
    "script",
    "form",
    "input",
    "button",
    "textarea",
    "select",
    "svg",
    "math",
    "style",
    "link",
    "meta",
    "template",
    "noscript",
    "xmp",
    "details",
    "dialog",
    "video",
    "audio",
    "source",
    "marquee",
    # A picture from elsewhere tells its host who reads the page: posts link to images instead.
    "img",
}
# What markdown may put on an element inside user content; anything else is a finding.
USER_CONTENT_ATTRIBUTES = {"href", "src", "title", "alt", "align", "start", "class", "rel", "id"}
URL_ATTRIBUTES = ("href", "src", "action", "formaction")
SAFE_SCHEMES = {"http", "https", "mailto"}
SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
C0_OR_SPACE = "".join(chr(i) for i in range(0x21))


# --- The checker ---------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _parse(content: str):
    """The response as a browser builds it (parsed once per distinct response; read-only)."""
    return html5lib.parse(content, treebuilder="etree", namespaceHTMLElements=False)


def _doc(content: bytes | str):
    return _parse(content.decode() if isinstance(content, bytes) else content)


def _local(tag) -> str | None:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else None


def _as_browser_reads(url: str) -> str:
    # WHATWG URL parsing: strip leading/trailing C0 controls and spaces, drop tabs and newlines.
    return re.sub(r"[\t\n\r]", "", url).strip(C0_OR_SPACE)


def _url_problem(url: str, *, user_content: bool, image: bool) -> str | None:
    value = _as_browser_reads(url)
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in value):
        return f"invisible characters in URL {url!r}"
    match = SCHEME_RE.match(value)
    if match:
        scheme = match.group(1).lower()
        allowed = {"http", "https"} if image else SAFE_SCHEMES
        return None if scheme in allowed else f"scheme {scheme!r} in {url!r}"
    if not user_content:
        return None  # the site's own relative links
    if image:
        return f"non-absolute image URL {url!r}"
    if value.startswith("#"):
        return None
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return None
    return f"URL that is not http(s)/mailto, site-relative or #fragment: {url!r}"


def page_problems(content: bytes | str, label: str) -> list[str]:
    """Everything wrong with one response, as a browser would parse it."""
    if isinstance(content, bytes):
        content = content.decode()
    problems = []
    if re.search(r"<script>alert|<img src=x onerror", content, re.IGNORECASE):
        problems.append("raw hostile markup in the response bytes")
    doc = _doc(content)
    user_content_nodes = set()
    for container in doc.iter():
        if "user-content" in (container.get("class") or "").split():
            user_content_nodes.update(id(el) for el in container.iter() if el is not container)
    for el in doc.iter():
        tag = _local(el.tag)
        if tag is None:
            continue  # comments
        inside = id(el) in user_content_nodes
        where = f"<{tag}> in user content" if inside else f"<{tag}>"
        if tag == "script" and not (el.get("src") or "").startswith("/static/"):
            problems.append(f"script that is not the site's own: {el.get('src')!r} {el.text!r}")
        if tag in FORBIDDEN_ANYWHERE or (inside and tag in FORBIDDEN_IN_USER_CONTENT):
            problems.append(f"forbidden element {where}")
        if tag == "meta" and (el.get("http-equiv") or "").lower() == "refresh":
            problems.append("refresh <meta>")
        for name, value in el.attrib.items():
            attr = _local(name) or name
            lowered = attr.lower()
            if lowered.startswith("on"):
                problems.append(f"event handler {attr}={value!r} on {where}")
            if inside:
                if lowered == "style":
                    problems.append(f"style attribute on {where}")
                elif lowered.startswith(("hx-", "data-hx-")):
                    problems.append(f"htmx attribute {attr} on {where}")
                elif lowered not in USER_CONTENT_ATTRIBUTES and not lowered.startswith("on"):
                    problems.append(f"unexpected attribute {attr}={value!r} on {where}")
            if lowered in URL_ATTRIBUTES:
                problem = _url_problem(value, user_content=inside, image=inside and tag == "img")
                if problem:
                    problems.append(f"{problem} on {where}")
    return [f"{label}: {p}" for p in problems]


def text_content(content: bytes) -> str:
    doc = _doc(content)
    return " ".join(" ".join(doc.itertext()).split())


def title_of(content: bytes) -> str:
    doc = _doc(content)
    title = doc.find(".//title")
    return title.text if title is not None and title.text else ""


def user_content_count(content: bytes) -> int:
    doc = _doc(content)
    return sum(1 for el in doc.iter() if isinstance(el.tag, str) and "user-content" in (el.get("class") or "").split())


def user_content_text(content: bytes) -> str:
    doc = _doc(content)
    parts = []
    for el in doc.iter():
        if isinstance(el.tag, str) and "user-content" in (el.get("class") or "").split():
            parts.append("".join(el.itertext()))
    return "\n".join(parts)


def test_checker_catches_what_it_should():
    """The checker is the oracle: it must flag each kind of finding (and pass the safe page)."""
    wrap = '<html><head><title>t</title><script src="/static/x.js"></script></head><body>{}</body></html>'
    assert page_problems(wrap.format('<div class="user-content"><p><a href="/u/x/">ok</a> #</p></div>'), "ok") == []
    findings = {
        "<script>alert(1)</script>": "raw hostile markup",
        "<script>x()</script>": "not the site's own",
        '<p onclick="x()">a</p>': "event handler",
        '<div class="user-content"><p style="x">a</p></div>': "style attribute",
        '<div class="user-content"><p hx-get="/x">a</p></div>': "htmx attribute",
        '<div class="user-content"><a href="java&#9;script:x()">a</a></div>': "scheme 'javascript'",
        '<div class="user-content"><a href="  javascript:x()">a</a></div>': "scheme 'javascript'",
        '<div class="user-content"><a href="//evil.example/">a</a></div>': "not http(s)/mailto",
        f'<div class="user-content"><a href="java{ZW}script:x()">a</a></div>': "invisible characters",
        '<div class="user-content"><img src="data:image/png;base64,AA"></div>': "scheme 'data'",
        '<div class="user-content"><svg></svg></div>': "forbidden element <svg>",
        '<div class="user-content"><form></form></div>': "forbidden element <form>",
        '<div class="user-content"><a formaction="x">a</a></div>': "unexpected attribute",
        "<iframe></iframe>": "forbidden element <iframe>",
    }
    for snippet, expected in findings.items():
        found = page_problems(wrap.format(snippet), "t")
        assert any(expected in p for p in found), (snippet, found)


# --- Fixtures -------------------------------------------------------------------------------


@pytest.fixture
def hostile(world, make_user, settings):
    """A member with a hostile display name, in the public community; posting and preview limits out of the way."""
    settings.POST_RATE_LIMIT = settings.NEW_ACCOUNT_POST_RATE_LIMIT = "1000/60"
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "preview": ("1000/60", None)}
    user = make_user("hax", display_name=HOSTILE_NAME)
    factories.membership(user, world.public)
    return user


def _assert_clean(problems: list[str]) -> None:
    assert not problems, f"{len(problems)} finding(s):\n  " + "\n  ".join(problems[:60])


# --- Replies through the reply form ----------------------------------------------------------


def test_hostile_replies_are_inert_on_every_page_that_shows_them(client, world, conversation, hostile):
    assert len(VECTORS) >= 30
    thread = conversation.thread
    reply_url = thread.get_absolute_url() + "reply/"
    client.force_login(hostile)
    problems: list[str] = []
    posts: list[Post] = []
    for i, vector in enumerate(VECTORS):
        preview = client.post(reply_url, {"body": vector, "preview": "1"})
        assert preview.status_code == 200, (vector, preview.status_code)
        assert user_content_count(preview.content) == 1, "the preview is user content"
        problems += page_problems(preview.content, f"preview of vector {i}")
        response = client.post(reply_url, {"body": vector, "submission_key": f"x{i}"})
        assert response.status_code == 302, (vector, response.status_code)
        posts.append(Post.objects.get(author=hostile, submission_key=f"x{i}"))
    assert [p.body for p in posts] == [v.replace("\r\n", "\n") for v in VECTORS]

    # Inline (htmx) replies come back as a fragment holding the new post.
    for i, vector in enumerate(VECTORS[:6]):
        parent = posts[i]
        response = client.post(
            reply_url,
            {"parent": parent.pk, f"to{parent.pk}-body": vector, f"to{parent.pk}-submission_key": f"h{i}"},
            HTTP_HX_REQUEST="true",
        )
        assert response.status_code == 200 and "<html" not in response.content.decode()
        problems += page_problems(response.content, f"htmx reply fragment {i}")
        assert user_content_count(response.content) == 1
        problems += page_problems(client.get(f"{reply_url}?to={parent.pk}").content, f"reply page quoting {i}")

    # Every post's permalink target, read by another member (and anonymously for the first page).
    reader = Client()
    reader.force_login(world.facilitator)
    targets: dict[str, int] = {}
    for post in Post.objects.filter(thread=thread).order_by("path"):
        response = reader.get(f"/p/{post.pk}/")
        assert response.status_code == 302
        location = response["Location"]
        assert location.startswith(f"/c/commons/t/{thread.pk}/") and location.endswith(f"#post-{post.pk}")
        targets.setdefault(urldefrag(location).url, post.pk)
    assert len(targets) == 2, targets  # 50 posts a page: the vectors fill two pages
    pages = [reader.get(url) for url in targets]
    for url, page in zip(targets, pages, strict=True):
        assert page.status_code == 200
        problems += page_problems(page.content, f"thread page {url}")
    # The checker sees every post's content (a question thread: no accepted answer block).
    assert sum(user_content_count(page.content) for page in pages) == Post.objects.filter(thread=thread).count()
    problems += page_problems(Client().get(thread.get_absolute_url()).content, "thread page (anonymous)")
    shown = "\n".join(user_content_text(page.content) for page in pages)
    for literal in TEMPLATE_LITERALS:
        assert literal in shown, f"template syntax {literal!r} not shown literally"
    assert "<script>alert(1)</script>" in shown, "raw HTML should be shown as text"
    assert HOSTILE_NAME in text_content(pages[0].content), "the hostile display name should show as text"

    # The htmx helpful partial for each post, and the flag/hide pages that quote a post.
    for post in posts:
        response = reader.post(f"/p/{post.pk}/helpful/", HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        problems += page_problems(response.content, f"helpful partial of post {post.pk}")
    for post in posts[:10]:
        problems += page_problems(reader.get(f"/p/{post.pk}/hide/").content, f"hide page of post {post.pk}")
        problems += page_problems(reader.get(f"/p/{post.pk}/flag/").content, f"flag page of post {post.pk}")
    _assert_clean(problems)


# --- A hostile thread: title, tags, body; then lists, history, flags, notifications ----------------


def test_hostile_thread_title_and_body_are_inert_everywhere(client, world, hostile):
    client.force_login(hostile)
    problems: list[str] = []
    body = "\n\n".join(["@fern have a look", *VECTORS[:12]])
    data = {"title": HOSTILE_TITLE, "kind": "question", "body": body, "tags": HOSTILE_TAGS}

    preview = client.post("/c/commons/threads/new/", {**data, "preview": "1"})
    assert preview.status_code == 200
    problems += page_problems(preview.content, "new-thread preview")
    assert not Thread.objects.filter(community=world.public, author=hostile).exists()

    response = client.post("/c/commons/threads/new/", {**data, "submission_key": "t1"})
    thread = Thread.objects.get(author=hostile)
    assert response.status_code == 302 and response["Location"] == thread.get_absolute_url()
    assert thread.title == HOSTILE_TITLE

    page = client.get(thread.get_absolute_url())
    problems += page_problems(page.content, "thread page")
    assert title_of(page.content) == f"{HOSTILE_TITLE} · {django_settings.COPSITE_NAME}"
    text = text_content(page.content)
    assert HOSTILE_TITLE in text and HOSTILE_NAME in text
    assert '" onmouseover="alert(1)' in text  # the tag, as text

    # Edit: new body and title through the form, then the history page shows both versions as text.
    opening = thread.opening_post
    response = client.post(
        f"/p/{opening.pk}/edit/", {"title": HOSTILE_TITLE + " v2", "body": VECTORS[12] + "\n\n" + VECTORS[20]}
    )
    assert response.status_code == 302
    edit_preview = client.post(f"/p/{opening.pk}/edit/", {"title": "x", "body": VECTORS[3], "preview": "1"})
    problems += page_problems(edit_preview.content, "edit preview")
    history = client.get(f"/p/{opening.pk}/history/")
    assert history.status_code == 200
    problems += page_problems(history.content, "history page")
    history_text = text_content(history.content)
    assert VECTORS[0] in history_text and HOSTILE_TITLE in history_text
    assert title_of(history.content).startswith("Edit history")

    # Lists: the community page, the author's profile.
    reader = Client()
    reader.force_login(world.member)
    community_page = reader.get("/c/commons/")
    problems += page_problems(community_page.content, "community page")
    assert HOSTILE_TITLE + " v2" in text_content(community_page.content)
    profile = reader.get("/u/hax/")
    problems += page_problems(profile.content, "profile page")
    assert title_of(profile.content) == f"{HOSTILE_NAME} · {django_settings.COPSITE_NAME}"

    # Flag the hostile posts (one through the form, with a hostile reason), then the facilitator's queue.
    replies = [services.reply(hostile, thread, vector) for vector in VECTORS[12:]]
    response = reader.post(f"/p/{opening.pk}/flag/", {"reason": HOSTILE_REASON})
    assert response.status_code == 302
    for post in replies:
        services.flag_post(world.member, post, "Looks like an attack")
    facilitator = Client()
    facilitator.force_login(world.facilitator)
    dashboard = facilitator.get("/c/commons/facilitate/")
    assert dashboard.status_code == 200
    problems += page_problems(dashboard.content, "facilitator dashboard")
    dashboard_text = text_content(dashboard.content)
    assert user_content_count(dashboard.content) == len(replies) + 1
    assert f"Flagged posts ({len(replies) + 1})" in dashboard_text
    assert HOSTILE_REASON in dashboard_text and HOSTILE_TITLE in dashboard_text

    # The mentioned person's notifications list the hostile title and name as text.
    notifications = facilitator.get("/notifications/")
    problems += page_problems(notifications.content, "notifications page")
    notifications_text = text_content(notifications.content)
    assert HOSTILE_TITLE in notifications_text and HOSTILE_NAME in notifications_text
    _assert_clean(problems)
