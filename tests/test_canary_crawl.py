"""Private stays private, proven by crawling.

The private community of the ``world`` fixture ("Zebra Quince Circle", slug
``circle``) gets a thread (with a picture in it), a reply, a research summary, an
uploaded file, a tag and a hosted chat, each carrying its own canary word (all start with
``quorble``). Then the whole site is crawled as each kind of outsider:
every link, ``src``, htmx ``hx-get`` and GET form (with its default values)
reachable from the home page, the directory, the members' profiles, search
for every canary (each kind the search offers), feeds, calendars (the
outsider's own token feed too), robots.txt, the sitemaps and 404 pages.

No canary, nor the community's name, domain or slug, may appear in any body
or header, in any spelling a browser or a URL decoder would read back.
Every direct URL of the private objects answers 404. A member's crawl of the
same site finds every canary (the seeds reach them), and a deliberately
broken template and a broken policy are caught by the same crawl.
"""

from __future__ import annotations

import html
import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from io import BytesIO
from urllib.parse import unquote, unquote_plus, urlencode, urljoin, urlsplit

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from attachments import services as attachment_services
from attachments.models import Attachment
from communities import policy
from communities import services as community_services
from communities.models import Community, Membership
from discussions import guests
from discussions import services as discussion_services
from discussions.models import Thread, ThreadGuest
from events import services as events
from events.models import CalendarToken
from tests import factories
from tests.bell import unread_on_bell

pytestmark = pytest.mark.django_db

# One word per kind of private content; search is seeded with each of them.
CANARIES = {
    "thread title": "Quorblethread",
    "thread body": "quorbleopening",
    "reply": "quorblereply",
    "resource title": "Quorbleresource",
    "resource summary": "quorblesummary",
    "file name": "quorblefilename",
    "file contents": "quorblefilebody",
    "tag": "quorbletag",
    "event title": "Quorbleevent",
    "event description": "quorbledescription",
    "chat question": "quorblequestion",
    "picture in a post": "quorblepicture",
}
# Content in the PUBLIC community that only its author and the facilitators may read
# held for review, hidden, deleted, and a facilitator's reply
# inside a held thread. Every outsider kind, and a member who is not the author, must
# find none of it; a facilitator's crawl finds all of it (the positive control).
UNPUBLISHED = {
    "held thread title": "Quorbleheldtitle",
    "held thread body": "quorbleheldbody",
    "reply inside a held thread": "quorbleheldreply",
    "held reply": "quorbleheldpost",
    "hidden reply": "quorblehiddenpost",
    "deleted reply": "quorbledeletedpost",
    "hidden opening post": "quorblehiddenopening",
}
# The community itself: name, domain statement and slug (conftest's ``world``).
COMMUNITY_WORDS = ("Zebra", "Quince", "Xylophone")
# Inside the RESTRICTED community (conftest's ``restricted``: "Kestrel Lattice Studio", slug
# ``studio``): everything members-only carries a word starting with ``vellichor``. Its name,
# domain statement and front page are for everyone; none of these words may show outside.
INSIDE_RESTRICTED = {
    "thread title": "Vellichorthread",
    "thread body": "vellichoropening",
    "reply": "vellichorreply",
    "resource title": "Vellichorresource",
    "file name": "vellichorfilename",
    "file contents": "vellichorfilebody",
    "tag": "vellichortag",
    "event title": "Vellichorevent",
    "event description": "vellichordescription",
    "picture in a post": "vellichorpicture",
    "community description": "Vellichor",  # conftest's description: shown to members only
    "member's name": "Vellichormember",  # the members list is for members
}
# A subgroup ("case review") of the PUBLIC community: its threads are for its members and the
# facilitators. Every outsider kind, and a member of the community outside the subgroup, must
# find none of its content; outsiders not even its name, which members see.
IN_SUBGROUP = {
    "subgroup thread title": "Quorblesubthread",
    "subgroup thread body": "quorblesubbody",
    "subgroup reply": "quorblesubreply",
    "subgroup thread in the private community": "Quorbleprivsub",
}
# Not a "quorble" word: members of the community (the banned ex-member of the private one is
# one of the public) see it; the test below looks for it where nobody outside may.
SUBGROUP_NAME = "Wombatgroup"
# A guest expert's one thread, in the PRIVATE community: the guest reads it (and the community's
# name on it) and nothing else, and after their place ends not even that.
GUEST_THREAD = {"guest thread title": "Quorbleguestthread", "guest thread body": "quorbleguestbody"}
MARKS = re.compile(r"quorble\w*|vellichor\w*|zebra|quince|xylophone|/c/circle(?![\w-])", re.I)
# Search terms the crawl types; their echo in the page is compared with searching for nothing.
SEARCH_TERMS = (
    *CANARIES.values(),
    *UNPUBLISHED.values(),
    *COMMUNITY_WORDS,
    *INSIDE_RESTRICTED.values(),
    *IN_SUBGROUP.values(),
    SUBGROUP_NAME,
    *GUEST_THREAD.values(),
)
NOTHING = "Nothingmatcheswhatsoever"
SEARCH_KINDS = ("", "threads", "replies", "resources")

# Kinds of page every outsider's crawl must have fetched, or it proves little.
MUST_REACH = {
    name: re.compile(pattern)
    for name, pattern in {
        "public thread": r"/c/commons/t/\d+/$",
        "post permalink": r"/p/\d+/$",
        "public resource": r"/c/commons/library/\d+/$",
        "public event": r"/c/commons/events/\d+/$",
        "event iCal": r"/c/commons/events/\d+/event\.ics$",
        "community calendar": r"/c/commons/events/feed\.ics$",
        "Atom feed": r"/c/commons/feeds/threads/$",
        "sitemap section": r"/sitemap-threads\.xml$",
        "profile": r"/u/exie/$",
        "search by kind": r"/search/\?q=\w+&kind=replies$",
        "tag filter": r"/c/commons/\?tag=tapering$",
        "404 page": r"/c/nope/$",
    }.items()
}
OUTSIDERS = ["anonymous", "outsider", "pending", "banned_poster", "elsewhere_member", "elsewhere_facilitator"]
PAGE_LIMIT = 700
SKIP_PREFIXES = ("/static/", "/admin/", "/accounts/logout/")
CSRF_RE = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]+(")')
CSP_NONCE_RE = re.compile(r"nonce-[A-Za-z0-9+/=_-]+")


# --- The private world ------------------------------------------------------------------


def png_bytes() -> bytes:
    """A picture wide enough to get a thumbnail too (both addresses must be 404s for outsiders)."""
    out = BytesIO()
    Image.new("RGB", (1600, 400), (20, 90, 160)).save(out, format="PNG")
    return out.getvalue()


@dataclass
class Secret:
    """The private objects and the people around them."""

    thread: Thread
    reply: object
    research: object
    upload: object
    event: object
    chat: Thread
    people: dict = field(default_factory=dict)
    held: Thread | None = None  # a held thread in the public community, with a facilitator's reply
    subgroup_thread: Thread | None = None  # the public community's subgroup thread
    guest_thread: Thread | None = None  # the private thread the guest was asked into
    picture: Attachment | None = None  # a picture in the private thread's opening post


@pytest.fixture
def crawl_limits(settings):
    """The crawl searches a few dozen times a minute: give search room (the limit itself is tested elsewhere)."""
    limits = dict(getattr(settings, "RATE_LIMITS", {}))
    limits["search"] = ("100000/60", "100000/60")
    settings.RATE_LIMITS = limits


@pytest.fixture
def secret(world, make_user, crawl_limits) -> Secret:
    ex = make_user("exie", display_name="Ex Member")
    factories.membership(ex, world.private)
    picture, markdown = attachment_services.upload(
        world.member, world.private, SimpleUploadedFile(f"{CANARIES['picture in a post']}.png", png_bytes())
    )
    thread = discussion_services.start_thread(
        world.member,
        world.private,
        title=f"{CANARIES['thread title']} weaning plan",
        body=f"Our {CANARIES['thread body']} schedule for the night shift.\n\n{markdown}",
        kind="question",
        tags=[CANARIES["tag"], "tapering"],
    )
    # The ex-member replies (mentioning two outsiders, who must get no notification) before being banned.
    reply = discussion_services.reply(ex, thread, f"I tried {CANARIES['reply']} last week, @otto and @flo.")
    research = factories.resource(
        ex,
        world.private,
        kind="research",
        title=f"{CANARIES['resource title']} review",
        summary=f"The {CANARIES['resource summary']} finding in plain words.",
        tags=[CANARIES["tag"]],
    )
    upload = factories.resource(
        world.member,
        world.private,
        kind="file",
        title="Night handout",
        file=(f"{CANARIES['file name']}.txt", f"{CANARIES['file contents']} notes\n".encode()),
    )
    event = factories.event(
        world.facilitator,
        world.private,
        title=f"{CANARIES['event title']} hosted chat",
        description=f"Bring your {CANARIES['event description']} cases.",
        welcome="Welcome, everyone.",
        questions=[(5, f"What does {CANARIES['chat question']} change?")],
    )
    events.rsvp(world.member, event, "going")
    events.rsvp(ex, event, "going")
    # Someone answers the ex-member's reply: a notification they have not read when the ban comes.
    discussion_services.reply(world.facilitator, thread, "Thanks, that helped.", parent=reply)
    membership = Membership.objects.get(user=ex, community=world.private)
    community_services.remove_member(world.owner, world.private, membership.pk, ban=True)

    public_life(world, ex, event.starts_at)
    held = unpublished_life(world, make_user)
    subgroup_thread, sam = subgroup_life(world, make_user)
    guest_thread, gus = guest_life(world, make_user)
    elsewhere_member = make_user("elia", display_name="Elia Elsewhere")
    factories.membership(elsewhere_member, world.elsewhere)
    people = {
        "anonymous": None,
        "outsider": world.outsider,
        "pending": world.pending,
        "banned_poster": ex,
        "elsewhere_member": elsewhere_member,
        "elsewhere_facilitator": world.other_facilitator,
        "member": world.member,
        "facilitator": world.facilitator,
        "subgroup_member": sam,
        "guest": gus,
    }
    picture.refresh_from_db()
    assert picture.post_id == thread.opening_post_id
    return Secret(
        thread,
        reply,
        research,
        upload,
        event,
        past_chat(world),
        people,
        held=held,
        picture=picture,
        subgroup_thread=subgroup_thread,
        guest_thread=guest_thread,
    )


def past_chat(world) -> Thread:
    """A private hosted chat that ran: its live thread holds the welcome, a question and an answer."""
    chat = factories.event(
        world.facilitator,
        world.private,
        title=f"{CANARIES['event title']} record",
        starts=timedelta(hours=-3),
        questions=[(5, f"Where did {CANARIES['chat question']} help?")],
    )
    thread = events.open_chat(chat)
    chat.refresh_from_db()
    events.post_due_questions(chat, timezone.now())
    question = thread.posts.order_by("pk").last()
    discussion_services.reply(world.member, thread, f"On nights, {CANARIES['reply']} too.", parent=question)
    return thread


def public_life(world, ex, start) -> None:
    """Public pages worth crawling: a thread the ex-member also answered (same tag), a resource, an event."""
    factories.membership(ex, world.public)
    thread = discussion_services.start_thread(
        world.member, world.public, title="Night rounds checklist", body="What do you check first?", tags=["tapering"]
    )
    answer = discussion_services.reply(ex, thread, "Pain, then sleep.")
    discussion_services.reply(world.facilitator, thread, "Agreed, @exie.", parent=answer)
    factories.resource(
        world.member, world.public, title="Handover in five lines", description="Keep it short.", tags=["tapering"]
    )
    factories.event(world.facilitator, world.public, kind="call", title="Open call", starts=start)


def unpublished_life(world, make_user) -> Thread:
    """A newcomer's held thread (a facilitator answers inside it), and held, hidden and deleted
    replies and a hidden opening post in the public community, none written by ``world.member``."""
    nina = make_user("nina", display_name="Nina Newcomer")
    factories.membership(nina, world.public)
    held = discussion_services.start_thread(
        nina,
        world.public,
        title=f"{UNPUBLISHED['held thread title']} offer",
        body=f"Cheap {UNPUBLISHED['held thread body']} pills.",
        tags=["tapering"],
        suspected_spam=True,
    )
    discussion_services.reply(world.facilitator, held, f"Checking this, {UNPUBLISHED['reply inside a held thread']}.")
    open_thread = discussion_services.start_thread(
        world.facilitator, world.public, title="Sleep on nights", body="What helps you sleep after a run of nights?"
    )
    discussion_services.reply(nina, open_thread, f"Buy {UNPUBLISHED['held reply']} here.", suspected_spam=True)
    hidden = discussion_services.reply(nina, open_thread, f"Rude {UNPUBLISHED['hidden reply']} remark.")
    discussion_services.hide_post(world.facilitator, hidden, "Personal attack.")
    deleted = discussion_services.reply(nina, open_thread, f"Oops {UNPUBLISHED['deleted reply']} typo.")
    discussion_services.delete_post(nina, deleted)
    hidden_opening = discussion_services.start_thread(
        nina, world.public, title="Rota swaps", body=f"Names and {UNPUBLISHED['hidden opening post']} phone numbers."
    )
    discussion_services.hide_post(world.facilitator, hidden_opening.opening_post, "Personal details.")
    return held


def subgroup_life(world, make_user):
    """A subgroup of the public community with Sam in it, a thread (tagged as public ones are) and a
    reply; and a subgroup thread in the private community. ``world.member`` is in neither."""
    sam = make_user("sam", display_name="Sam Subgroup")
    for community in (world.public, world.private):
        factories.membership(sam, community)
    group = community_services.create_subgroup(world.facilitator, world.public, name=f"{SUBGROUP_NAME} review")
    community_services.add_subgroup_member(world.facilitator, group, sam)
    thread = discussion_services.start_thread(
        sam,
        world.public,
        title=f"{IN_SUBGROUP['subgroup thread title']} bed four",
        body=f"The {IN_SUBGROUP['subgroup thread body']} history.",
        tags=["tapering"],
        subgroup=group,
    )
    # A reply mentioning a plain member and an outsider: neither may be told of it.
    discussion_services.reply(world.facilitator, thread, f"Seen {IN_SUBGROUP['subgroup reply']}, @mira @otto.")
    private_group = community_services.create_subgroup(world.facilitator, world.private, name="Night review")
    community_services.add_subgroup_member(world.facilitator, private_group, sam)
    discussion_services.start_thread(
        sam,
        world.private,
        title=f"{IN_SUBGROUP['subgroup thread in the private community']} case",
        body="Details.",
        subgroup=private_group,
    )
    return thread, sam


def guest_life(world, make_user):
    """Gus, an outside expert, asked into one thread of the private community and in it."""
    gus = make_user("gus", display_name="Gus Guest")
    thread = discussion_services.start_thread(
        world.member,
        world.private,
        title=f"{GUEST_THREAD['guest thread title']} dosing",
        body=f"Our {GUEST_THREAD['guest thread body']} question.",
    )
    place = guests.invite_guest(world.facilitator, thread, gus.email, days=14)
    guests.accept_place(gus, place)
    discussion_services.reply(gus, thread, "Halve it at night.")
    return thread, gus


def log_in(client, secret: Secret, kind: str) -> None:
    person = secret.people[kind]
    if person is not None:
        client.force_login(person)


# --- Finding canaries -------------------------------------------------------------------


def body_of(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def readings(text: str) -> str:
    """The text as a browser, a URL decoder and a JSON reader would each read it back."""
    unescaped = html.unescape(text)
    forms = [text, unescaped, unquote(text), unquote_plus(unescaped)]
    forms.append(re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text))
    return "\n".join(forms)


def marks_in(text: str) -> set[str]:
    return {match.lower() for match in MARKS.findall(readings(text))}


def normalized(body: str) -> str:
    """The body with per-render tokens (CSRF, CSP nonce) blanked."""
    return CSP_NONCE_RE.sub("nonce-X", CSRF_RE.sub(r"\1X\2", body))


def typed_term(url: str) -> str | None:
    """The search term the crawl itself put in this URL (its echo on the page is not a leak)."""
    query = unquote_plus(urlsplit(url).query).lower()
    return next((term for term in SEARCH_TERMS if term.lower() in query), None)


def leaks_of(client, url: str, response, controls: dict[str, str] | None = None) -> list[str]:
    """Canaries in the headers, and in the body beyond an echo of what the crawl typed.

    ``controls`` keeps the searches for nothing already fetched (many terms share one).
    """
    found = [f"header {name}: {value}" for name, value in response.headers.items() if marks_in(value)]
    body = body_of(response)
    term = typed_term(url)
    if term is None:
        found += [f"body: {mark!r}" for mark in sorted(marks_in(body))]
        return found
    # Searching a private word must look exactly like searching for nothing.
    control_url = re.sub(re.escape(term), NOTHING, url, flags=re.I)
    controls = {} if controls is None else controls
    if control_url not in controls:
        controls[control_url] = body_of(client.get(control_url))
    control = controls[control_url]
    found += [f"body of {control_url}: {mark!r}" for mark in sorted(marks_in(control))]
    echoed = re.sub(re.escape(term), NOTHING, body, flags=re.I)
    if normalized(echoed) != normalized(control):
        found.append(f"body differs from {control_url}: {sorted(marks_in(body)) or 'same words, other results'}")
    return found


# --- Crawling ---------------------------------------------------------------------------


class LinkCollector(HTMLParser):
    """href/src/hx-get targets, and each GET form submitted with its default values."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self._form: dict | None = None
        self._select: dict | None = None

    def handle_starttag(self, tag: str, attrs) -> None:
        a = {name: value or "" for name, value in attrs}
        self.urls += [a[name] for name in ("href", "src", "hx-get") if a.get(name)]
        if tag == "form":
            get = (a.get("method") or "get").lower() == "get"
            self._form = {"action": a.get("action", ""), "fields": []} if get else None
        elif tag == "option" and self._select is not None:
            self._option(a)
        if self._form is None or not a.get("name"):
            return
        kind = (a.get("type") or "text").lower()
        if tag == "input" and kind not in {"submit", "button", "image", "reset", "file"}:
            if kind not in {"checkbox", "radio"} or "checked" in a:
                self._form["fields"].append((a["name"], a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select":
            self._select = {"name": a["name"], "first": None, "chosen": None}
        elif tag == "textarea":
            self._form["fields"].append((a["name"], ""))

    def handle_startendtag(self, tag: str, attrs) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._form is not None:
            self.urls.append(self._form["action"].split("?")[0] + "?" + urlencode(self._form["fields"]))
            self._form = None
        elif tag == "select" and self._select is not None:
            value = self._select["chosen"] if self._select["chosen"] is not None else self._select["first"]
            if value is not None and self._form is not None:
                self._form["fields"].append((self._select["name"], value))
            self._select = None

    def _option(self, a: dict) -> None:
        """A select submits its selected option, else its first (options without a value are not used here)."""
        if self._select["first"] is None:
            self._select["first"] = a.get("value", "")
        if "selected" in a:
            self._select["chosen"] = a.get("value", "")


def links_in(response, body: str) -> list[str]:
    """Every URL a reader of this response could follow: HTML and XML attributes, sitemap locs, iCal and text URLs."""
    links = [response["Location"]] if response.get("Location") else []
    content_type = response.get("Content-Type", "")
    if "html" in content_type or "xml" in content_type:
        collector = LinkCollector()
        collector.feed(body)
        links += collector.urls
        links += [html.unescape(loc) for loc in re.findall(r"<loc>\s*([^<\s]+)\s*</loc>", body)]
    elif content_type.startswith(("text/calendar", "text/plain")):
        unfolded = re.sub(r"\r?\n[ \t]", "", body)
        links += re.findall(r"https?://[^\s\"'<>]+", unfolded)
    return links


def on_site(base: str, href: str) -> str | None:
    """The path and query of ``href`` if it points at this site (the test server or SITE_URL), else None."""
    parts = urlsplit(urljoin(f"http://testserver{base}", href.strip()))
    if parts.scheme not in ("http", "https") or parts.netloc not in ("testserver", urlsplit(settings.SITE_URL).netloc):
        return None
    if parts.path.startswith(SKIP_PREFIXES):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


@dataclass
class CrawlReport:
    statuses: dict[str, int] = field(default_factory=dict)
    leaks: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    found: set[str] = field(default_factory=set)  # marks seen beyond the crawl's own searches (positive control)


def crawl(client, seeds: list[str], *, limit: int = PAGE_LIMIT) -> CrawlReport:
    """Breadth-first GET of everything reachable from ``seeds``; fails loudly past ``limit`` pages."""
    report = CrawlReport()
    queue = deque(dict.fromkeys(seeds))
    seen = set(queue)
    controls: dict[str, str] = {}
    while queue:
        url = queue.popleft()
        if len(report.statuses) >= limit:
            pytest.fail(f"the crawl reached its bound of {limit} pages with {len(queue)} still queued, e.g. {url}")
        response = client.get(url)
        report.statuses[url] = response.status_code
        if response.status_code >= 500 or response.status_code == 429:
            report.errors[url] = response.status_code
        body = body_of(response)
        if typed_term(url) is None:  # a page echoing the crawl's own search proves nothing
            report.found |= marks_in(body) | marks_in(str(response.headers))
        if leaks := leaks_of(client, url, response, controls):
            report.leaks[url] = leaks
        for href in links_in(response, body):
            target = on_site(url, href)
            if target and target not in seen:
                seen.add(target)
                queue.append(target)
    return report


def seeds_for(secret: Secret, kind: str) -> list[str]:
    """Where the crawl starts (the issue's list); the outsider's own calendar feed needs a token first."""
    world_people = Membership.objects.filter(community__slug="circle").values_list("user__username", flat=True)
    urls = ["/", "/c/", "/robots.txt", "/sitemap.xml", "/search/"]
    urls += [f"/u/{username}/" for username in sorted(world_people)]
    for term in SEARCH_TERMS:
        urls += ["/search/?" + urlencode({"q": term, **({"kind": k} if k else {})}) for k in SEARCH_KINDS]
        urls.append("/c/?" + urlencode({"q": term}))
    for slug in ("commons", "guild"):
        urls += [f"/c/{slug}/feeds/threads/", f"/c/{slug}/feeds/resources/", f"/c/{slug}/events/feed.ics"]
        urls += [f"/c/{slug}/?tag={CANARIES['tag']}", f"/c/{slug}/library/?tag={CANARIES['tag']}"]
    urls += ["/c/nope/", "/definitely-not-here/", "/p/999999/", "/c/commons/t/999999/", "/u/nobody-at-all/"]
    person = secret.people[kind]
    if person is not None:
        token = CalendarToken.objects.create(user=person, token=f"crawl-{person.pk}-calendar")
        urls.append(f"/calendar/{token.token}.ics")
    return urls


def held_urls(secret: Secret) -> list[tuple[str, str]]:
    """(method, url) of every direct address of the held thread and the facilitator's reply inside it."""
    held = secret.held
    inside = [held.opening_post_id, *held.posts.exclude(pk=held.opening_post_id).values_list("pk", flat=True)]
    urls = [("get", f"/c/commons/t/{held.pk}/{tail}") for tail in ("", "unread/", "live/", "moderate/")]
    urls += [("post", f"/c/commons/t/{held.pk}/reply/")]
    for pk in inside:
        urls += [("get", f"/p/{pk}/{action}") for action in ("", "edit/", "history/", "delete/", "flag/", "hide/")]
        urls += [("post", f"/p/{pk}/{action}/") for action in ("helpful", "accept", "flag")]
    return urls


def unpublished_in(text: str) -> set[str]:
    words = {word.lower() for word in UNPUBLISHED.values()}
    return {mark for mark in marks_in(text) if mark in words}


def private_urls(secret: Secret) -> list[tuple[str, str]]:
    """(method, url) of every direct address of the private objects (and of the held thread)."""
    t, r, e = secret.thread, secret.reply, secret.event
    posts = [t.opening_post_id, r.pk]
    urls = [("get", f"/c/circle/t/{t.pk}/"), ("get", f"/c/commons/t/{t.pk}/"), ("get", f"/c/circle/t/{t.pk}/unread/")]
    urls += [("get", f"/c/circle/t/{t.pk}/live/"), ("get", f"/c/circle/t/{t.pk}/moderate/")]
    urls += [("post", f"/c/circle/t/{t.pk}/reply/"), ("post", f"/c/circle/t/{t.pk}/moderate/")]
    urls += [("post", f"/c/circle/t/{t.pk}/watch/"), ("post", f"/c/commons/t/{t.pk}/watch/")]
    chat = secret.chat.pk
    urls += [
        ("get", f"/c/circle/t/{chat}/"),
        ("get", f"/c/circle/t/{chat}/live/"),
        ("get", f"/c/circle/t/{chat}/live/?after=0"),
    ]
    for pk in posts:
        urls += [("get", f"/p/{pk}/{action}") for action in ("", "edit/", "history/", "delete/", "flag/", "hide/")]
        urls += [("post", f"/p/{pk}/{action}/") for action in ("helpful", "accept", "hide", "unhide", "dismiss-flags")]
        urls += [("post", f"/p/{pk}/flag/"), ("post", f"/p/{pk}/edit/"), ("post", f"/p/{pk}/delete/")]
    for resource in (secret.research, secret.upload):
        base = f"/c/circle/library/{resource.pk}/"
        urls += [("get", base + tail) for tail in ("", "file/", "preview.png", "edit/", "remove/")]
        urls += [("get", f"/c/commons/library/{resource.pk}/"), ("get", f"/c/commons/library/{resource.pk}/file/")]
        urls += [("post", base + tail) for tail in ("pin/", "helpful/", "discuss/", "remove/")]
    urls.append(("get", secret.upload.file.url))
    assert secret.picture is not None
    urls += [("get", secret.picture.get_absolute_url()), ("get", secret.picture.thumbnail_url())]
    base = f"/c/circle/events/{e.pk}/"
    urls += [("get", base + tail) for tail in ("", "event.ics", "edit/")]
    urls += [("get", f"/c/commons/events/{e.pk}/"), ("get", f"/c/commons/events/{e.pk}/event.ics")]
    urls += [("post", base + tail) for tail in ("rsvp/", "cancel/", "edit/")]
    community = [
        "",
        "library/",
        f"library/?tag={CANARIES['tag']}",
        f"?tag={CANARIES['tag']}",
        "events/",
        "events/feed.ics",
        "events/new/",
        "feeds/threads/",
        "feeds/resources/",
        "threads/new/",
        "library/add/",
        "edit/",
        "facilitate/",
        "facilitate/digest-preview/",
    ]
    urls += [("get", f"/c/circle/{tail}") for tail in community]
    urls += [("post", f"/c/circle/{tail}") for tail in ("join/", "leave/", "watch/", "threads/new/", "library/add/")]
    return urls + held_urls(secret)


# --- The tests --------------------------------------------------------------------------


def tally(what: str, kind: str, *, pages: int = 0, probed: int = 0) -> None:
    """One line per passed probe (shown with ``pytest -s``): what was tried, as whom, how much of it."""
    print(f"\ncrawl {what} as {kind}: {pages} pages crawled, {probed} direct addresses probed, nothing leaked")


@pytest.mark.parametrize("kind", OUTSIDERS)
def test_nothing_private_is_reachable_by_crawling(client, secret, kind):
    log_in(client, secret, kind)
    report = crawl(client, seeds_for(secret, kind))
    unreached = [kind for kind, pattern in MUST_REACH.items() if not any(pattern.match(u) for u in report.statuses)]
    assert not unreached, f"the crawl as {kind} never reached: {unreached}"
    assert not report.errors, f"server errors or refusals while crawling as {kind}: {report.errors}"
    assert not report.leaks, f"private content shows through to {kind}: {report.leaks}"
    tally("private community", kind, pages=len(report.statuses))


@pytest.mark.parametrize("kind", OUTSIDERS)
def test_every_direct_url_of_the_private_objects_is_a_404(client, secret, kind):
    log_in(client, secret, kind)
    wrong = {}
    for method, url in private_urls(secret):
        response = getattr(client, method)(url)
        problems = leaks_of(client, url, response)
        if response.status_code != 404 or problems:
            wrong[f"{method.upper()} {url}"] = (response.status_code, response.get("Location"), problems)
    assert not wrong, f"{kind} reaches private objects: {wrong}"
    tally("private community", kind, probed=len(private_urls(secret)))


def test_the_banned_ex_members_own_profile_keeps_their_private_posts_private(client, secret):
    client.force_login(secret.people["banned_poster"])
    page = client.get("/u/exie/")
    assert page.status_code == 200
    assert "Ex Member" in page.content.decode()
    assert not marks_in(body_of(page))


def test_the_banned_ex_members_bell_counts_nothing_from_the_private_community(client, secret):
    """Their unread notification from the private thread is neither listed nor counted in the header."""
    ex = secret.people["banned_poster"]
    # One public mention, one private reply, and their first contribution thanked in each community.
    assert ex.notifications.filter(read_at__isnull=True).count() == 4
    client.force_login(ex)
    page = client.get("/notifications/").content.decode()
    # The mention and the public thanks; the private community's thanks went with the membership.
    assert page.count("badge-new") == 2
    assert unread_on_bell(page) == 2
    assert "Your first contribution to" in page and "Ward Commons" in page
    # The bell's dropdown neither: no title, no name, no count from the private community.
    dropdown = body_of(client.get("/notifications/menu/", HTTP_HX_REQUEST="true"))
    assert not marks_in(page) and not marks_in(dropdown)
    assert "Zebra Quince Circle" not in page and "Zebra Quince Circle" not in dropdown
    assert dropdown.count("badge-new") == 2


def test_a_member_reaches_every_canary_by_the_same_crawl(client, secret):
    """Positive control: the seeds and the link-following reach every private object when it is visible."""
    log_in(client, secret, "member")
    report = crawl(client, seeds_for(secret, "member"))
    missing = {what for what, word in CANARIES.items() if word.lower() not in report.found}
    assert not missing, f"the crawl never reached: {missing}"
    assert report.leaks  # the same detector flags what members legitimately see


def test_a_member_who_is_not_the_author_never_reads_held_hidden_or_deleted_content(client, secret):
    """Finding 1: held, hidden and deleted content (and a reply inside a held thread) in a public
    community is found by no list, search, profile, feed or sitemap a fellow member can reach."""
    log_in(client, secret, "member")
    report = crawl(client, seeds_for(secret, "member"))
    assert not report.errors
    assert not {mark for mark in report.found if unpublished_in(mark)}
    searched = {
        url: leaks
        for url, leaks in report.leaks.items()
        if (typed_term(url) or "").lower() in {w.lower() for w in UNPUBLISHED.values()}
        or any(unpublished_in(leak) for leak in leaks)
    }
    assert not searched, f"a member who is not the author reads unpublished content: {searched}"
    opened = {url: client.get(url).status_code for method, url in held_urls(secret) if method == "get"}
    assert set(opened.values()) == {404}, opened


def test_a_facilitator_reaches_every_unpublished_canary_by_the_same_crawl(client, secret):
    """Positive control for the test above: the content is there, and the seeds reach it for those who may read it."""
    log_in(client, secret, "facilitator")
    report = crawl(client, seeds_for(secret, "facilitator"))
    missing = {what for what, word in UNPUBLISHED.items() if word.lower() not in report.found}
    assert not missing, f"the crawl never reached: {missing}"


@pytest.mark.parametrize(
    "text",
    [
        "QUORBLETHREAD weaning plan",
        "&#113;uorblethread",
        "&#x51;uorblethread",
        "Quorble%74hread",
        "q=quorble+thread%20Quorblethread",
        "\\u0071uorblethread",
        "Zebra&nbsp;Quince",
        'href="/c/circle/"',
    ],
)
def test_the_detector_reads_every_spelling_a_browser_or_decoder_would(text):
    assert marks_in(text)


def test_the_detector_ignores_words_that_merely_look_alike():
    assert not marks_in("/c/circles/ and /c/circle-two/ and quorbl")


# --- The detector catches a deliberate leak ------------------------------------------------


def recent_conversations(request):
    """A broken context processor: the newest threads of the whole site, with no policy check."""
    return {"recent_threads": Thread.objects.order_by("-created_at")[:3]}


LEAKY_404 = (
    '{% extends "base.html" %}{% block content %}<h1>Page not found</h1>'
    "<ul>{% for t in recent_threads %}<li>{{ t.title }}</li>{% endfor %}</ul>{% endblock %}"
)


def leaky_templates(settings) -> None:
    """The 404 page grows a "recent conversations" list fed by the broken context processor."""
    engine = dict(settings.TEMPLATES[0])
    options = dict(engine["OPTIONS"])
    options["context_processors"] = [*options["context_processors"], f"{__name__}.recent_conversations"]
    options["loaders"] = [
        ("django.template.loaders.locmem.Loader", {"404.html": LEAKY_404}),
        "django.template.loaders.filesystem.Loader",
        "django.template.loaders.app_directories.Loader",
    ]
    engine.update(APP_DIRS=False, OPTIONS=options)
    settings.TEMPLATES = [engine, *settings.TEMPLATES[1:]]  # the Jinja2 row templates as they were


def test_the_crawl_reports_a_template_that_leaks(client, secret, settings):
    original = settings.TEMPLATES
    leaky_templates(settings)
    report = crawl(client, ["/", "/c/nope/"])
    assert "/c/nope/" in report.leaks and "'quorble" in str(report.leaks["/c/nope/"])
    settings.TEMPLATES = original
    assert not marks_in(body_of(client.get("/c/nope/")))


def test_the_crawl_and_the_404_check_report_a_policy_that_leaks(client, secret, monkeypatch):
    monkeypatch.setattr(policy, "can_view_community", lambda user, community: True)
    monkeypatch.setattr(policy, "visible_communities", lambda user: Community.objects.all())
    client.force_login(secret.people["outsider"])
    report = crawl(client, seeds_for(secret, "outsider"))
    assert f"/c/circle/t/{secret.thread.pk}/" in report.statuses  # reached by links now
    assert any(url.startswith("/search/") for url in report.leaks)
    assert "/u/exie/" in report.leaks
    opened = [url for method, url in private_urls(secret) if method == "get" and client.get(url).status_code == 200]
    assert f"/c/circle/t/{secret.thread.pk}/" in opened


# --- The restricted community: its front page is for everyone, nothing inside it is ---------------

RESTRICTED_OUTSIDERS = [*OUTSIDERS, "removed_poster"]


@dataclass
class Inside:
    """What is inside the restricted community, and who can't read it."""

    thread: Thread
    reply: object
    resource: object
    event: object
    picture: Attachment


@pytest.fixture
def inside(secret, restricted, make_user) -> Inside:
    """Canaries inside ``world.restricted``; a member who posted and was then removed (not banned)."""
    world = restricted
    studio = world.restricted
    words = INSIDE_RESTRICTED
    insider = make_user("velma", display_name=words["member's name"])
    factories.membership(insider, studio)
    picture, markdown = attachment_services.upload(
        world.member, studio, SimpleUploadedFile(f"{words['picture in a post']}.png", png_bytes())
    )
    thread = discussion_services.start_thread(
        world.member,
        studio,
        title=f"{words['thread title']} handover drill",
        body=f"The {words['thread body']} drill.\n\n{markdown}",
        tags=[words["tag"]],
    )
    remy = make_user("remy", display_name="Remy Removed")
    factories.membership(remy, studio)
    reply = discussion_services.reply(remy, thread, f"We ran the {words['reply']} drill, @otto.")
    discussion_services.reply(insider, thread, "Same here.")  # her name shows to members only
    community_services.remove_member(
        world.owner, studio, Membership.objects.get(user=remy, community=studio).pk, ban=False
    )
    resource = factories.resource(
        world.member,
        studio,
        kind="file",
        title=f"{words['resource title']} card",
        file=(f"{words['file name']}.txt", f"{words['file contents']} steps\n".encode()),
        tags=[words["tag"]],
    )
    event = factories.event(
        world.facilitator,
        studio,
        title=f"{words['event title']} practice",
        description=f"Bring a {words['event description']} case.",
    )
    secret.people["removed_poster"] = remy
    picture.refresh_from_db()
    return Inside(thread, reply, resource, event, picture)


def inside_urls(inside: Inside) -> list[tuple[str, str]]:
    """(method, url) of every address inside the restricted community: all 404 to an outsider."""
    t, r = inside.thread, inside.reply
    urls = [("get", f"/c/studio/t/{t.pk}/{tail}") for tail in ("", "unread/", "live/", "moderate/")]
    urls += [("post", f"/c/studio/t/{t.pk}/reply/"), ("post", f"/c/studio/t/{t.pk}/watch/")]
    for pk in (t.opening_post_id, r.pk):
        urls += [("get", f"/p/{pk}/{action}") for action in ("", "edit/", "history/", "flag/")]
        urls += [("post", f"/p/{pk}/{action}/") for action in ("helpful", "flag")]
    base = f"/c/studio/library/{inside.resource.pk}/"
    urls += [("get", base + tail) for tail in ("", "file/", "edit/")]
    urls.append(("get", inside.resource.file.url))
    urls += [("get", inside.picture.get_absolute_url()), ("get", inside.picture.thumbnail_url())]
    urls += [("get", f"/c/studio/events/{inside.event.pk}/{tail}") for tail in ("", "event.ics")]
    tails = ["library/", "events/", "events/feed.ics", "feeds/threads/", "feeds/resources/", "threads/new/"]
    tails += ["facilitate/", "edit/", "library/add/", "events/new/"]
    urls += [("get", f"/c/studio/{tail}") for tail in tails]
    return urls


def vellichor_in(marks: Iterable[str]) -> set[str]:
    return {mark for mark in marks if "vellichor" in mark.lower()}


@pytest.mark.parametrize("kind", RESTRICTED_OUTSIDERS)
def test_a_restricted_community_shows_its_name_and_front_page_and_nothing_inside_it(client, secret, inside, kind):
    log_in(client, secret, kind)
    seeds = [*seeds_for(secret, kind), "/c/studio/", "/search/?q=Kestrel", "/c/?q=handover+drills"]
    seeds += [f"/c/studio/?tag={INSIDE_RESTRICTED['tag']}"]  # the front page again: no thread list
    seeds.append("/u/remy/")  # the removed poster's profile lists nothing of what he wrote inside
    report = crawl(client, seeds)
    # Found: in the directory, by site search, on its front page (name, domain statement, facilitators).
    assert report.statuses["/c/studio/"] == 200
    front = html.unescape(client.get("/c/studio/").content.decode())
    for shown in ("Kestrel Lattice Studio", "Night-shift handover drills", "Olive Owner", "Fern Facilitator"):
        assert shown in front
    assert "Kestrel Lattice Studio" in html.unescape(client.get("/c/").content.decode())
    assert "/c/studio/" in client.get("/search/?q=Kestrel").content.decode()
    assert "/c/studio/" in client.get("/sitemap-communities.xml").content.decode()
    # Nothing inside: no canary anywhere the crawl went, in any spelling.
    leaks = {url: found for url, found in report.leaks.items() if vellichor_in(found)}
    assert not leaks, f"what is inside the restricted community shows through to {kind}: {leaks}"
    assert not report.errors
    wrong = {}
    for method, url in inside_urls(inside):
        response = getattr(client, method)(url)
        if response.status_code != 404 or vellichor_in(leaks_of(client, url, response)):
            wrong[f"{method.upper()} {url}"] = response.status_code
    assert not wrong, f"{kind} reaches what is inside the restricted community: {wrong}"
    tally("restricted community", kind, pages=len(report.statuses), probed=len(inside_urls(inside)))


def test_a_member_of_the_restricted_community_reaches_every_canary_inside_it(client, secret, inside):
    """Positive control: the same crawl, as a member, reads what is inside."""
    log_in(client, secret, "member")
    report = crawl(client, [*seeds_for(secret, "member"), "/c/studio/"])
    missing = {what for what, word in INSIDE_RESTRICTED.items() if word.lower() not in report.found}
    assert not missing, f"the crawl never reached: {missing}"


# --- Subgroups and guests ------------------------------------------------------------------
# Outsider kinds meet the subgroup's content (and its name) in the crawls above: any "quorble"
# word is a leak there. Below: a member of the community outside the subgroup, the positive
# control, and the guest before and after their place ends.


def subgroup_words() -> set[str]:
    return {word.lower() for word in IN_SUBGROUP.values()}


def subgroup_urls(secret: Secret) -> list[str]:
    t = secret.subgroup_thread
    assert t is not None
    posts = list(t.posts.values_list("pk", flat=True))
    urls = [f"/c/commons/t/{t.pk}/", f"/c/commons/t/{t.pk}/unread/", f"/c/commons/t/{t.pk}/reply/"]
    urls += [f"/p/{pk}/{tail}" for pk in posts for tail in ("", "history/", "edit/")]
    urls += [f"/c/commons/subgroups/{t.subgroup.slug}/"]
    return urls


def test_a_member_outside_the_subgroup_finds_its_name_but_none_of_its_content(client, secret):
    log_in(client, secret, "member")
    report = crawl(client, seeds_for(secret, "member"))
    assert not report.errors
    assert not report.found & subgroup_words(), report.found & subgroup_words()
    searched = {
        url: leaks
        for url, leaks in report.leaks.items()
        if any(word in leak.lower() for leak in leaks for word in subgroup_words())
    }
    assert not searched, f"a member outside the subgroup reads its content: {searched}"
    assert SUBGROUP_NAME in client.get("/c/commons/").content.decode()  # names only, on the community page
    assert {client.get(url).status_code for url in subgroup_urls(secret)} == {404}
    # The mention in the subgroup's reply told them nothing.
    assert not secret.people["member"].notifications.filter(post__thread=secret.subgroup_thread).exists()
    tally("subgroup", "member outside it", pages=len(report.statuses), probed=len(subgroup_urls(secret)))


@pytest.mark.parametrize("kind", OUTSIDERS)
def test_every_direct_url_of_the_subgroup_is_a_404_for_outsiders(client, secret, kind):
    log_in(client, secret, kind)
    for url in subgroup_urls(secret):
        response = client.get(url)
        assert response.status_code == 404, (kind, url)
        assert not marks_in(body_of(response)), (kind, url)
    # The managing page: a member of the community (the ex-member is one) is told it is for facilitators.
    assert client.get("/c/commons/subgroups/").status_code == (403 if kind == "banned_poster" else 404)
    if kind != "banned_poster":  # the ex-member of the private community is a member of the public one
        seen = {url: SUBGROUP_NAME in body_of(client.get(url)) for url in ("/c/commons/", "/search/?q=Case")}
        assert not any(seen.values()), f"{kind} sees the subgroup's name: {seen}"
    tally("subgroup", kind, probed=len(subgroup_urls(secret)))


def test_the_subgroup_member_reaches_its_content_by_the_same_crawl(client, secret):
    """Positive control: the seeds reach the subgroup's content for one of its members."""
    log_in(client, secret, "subgroup_member")
    report = crawl(client, seeds_for(secret, "subgroup_member"))
    missing = {what for what, word in IN_SUBGROUP.items() if word.lower() not in report.found}
    assert not missing, f"the crawl never reached: {missing}"


GUEST_ALLOWED = {word.lower() for word in GUEST_THREAD.values()} | {"zebra", "quince", "/c/circle"}


def test_a_guest_reaches_their_one_thread_and_nothing_else(client, secret):
    log_in(client, secret, "guest")
    report = crawl(client, seeds_for(secret, "guest"))
    assert not report.errors
    assert {word.lower() for word in GUEST_THREAD.values()} <= report.found  # it is reached
    assert report.found <= GUEST_ALLOWED, report.found - GUEST_ALLOWED
    other = {
        url: leaks
        for url, leaks in report.leaks.items()
        if any(not any(allowed in leak.lower() for allowed in GUEST_ALLOWED) for leak in leaks)
    }
    assert not other, f"the guest reads more than their thread: {other}"
    wrong = {}
    for method, url in private_urls(secret):
        response = getattr(client, method)(url)
        if response.status_code != 404:
            wrong[f"{method.upper()} {url}"] = response.status_code
    assert not wrong, f"the guest reaches other private objects: {wrong}"
    tally("beyond the guest's thread", "guest", pages=len(report.statuses), probed=len(private_urls(secret)))


def test_after_expiry_a_guest_reaches_nothing(client, secret):
    ThreadGuest.objects.filter(user=secret.people["guest"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    log_in(client, secret, "guest")
    report = crawl(client, seeds_for(secret, "guest"))
    assert not report.errors
    assert not report.leaks, f"an expired guest still reads: {report.leaks}"
    assert client.get(f"/c/circle/t/{secret.guest_thread.pk}/").status_code == 404
    tally("after the guest's place ended", "guest", pages=len(report.statuses), probed=1)
