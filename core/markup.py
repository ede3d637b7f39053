"""The only place where user-written markdown becomes HTML.

Two independent layers, so that a bug in one is not an XSS on its own:

1. Python-Markdown with raw HTML switched off and a tree pass that drops
   link and image URLs outside a strict policy;
2. nh3 with an explicit allowlist of tags, attributes, classes and URL schemes.

Output is meant to be rendered once at save time and stored with
``RENDER_VERSION``, never at request time (docs/reliability.md, "Markup").
"""

from __future__ import annotations

import html
import logging
import re
import unicodedata
import xml.etree.ElementTree as etree
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser

import markdown
import nh3
from markdown.extensions import Extension
from markdown.inlinepatterns import (
    BACKTICK_RE,
    IMAGE_LINK_RE,
    IMAGE_REFERENCE_RE,
    LINK_RE,
    REFERENCE_RE,
    BacktickInlineProcessor,
    ImageInlineProcessor,
    ImageReferenceInlineProcessor,
    InlineProcessor,
    LinkInlineProcessor,
    ReferenceInlineProcessor,
    ShortImageReferenceInlineProcessor,
    ShortReferenceInlineProcessor,
)
from markdown.treeprocessors import Treeprocessor
from markdown.util import AMP_SUBSTITUTE, AtomicString

logger = logging.getLogger(__name__)

# Bump whenever the HTML or text produced for the same source changes; the
# re-render command selects rows whose stored version is behind this one.
# 2: images became links (_FinishTree._images_as_links).
RENDER_VERSION: int = 2

MAX_SOURCE_CHARS = 20_000
# Every "[" costs a bounded scan (see _BoundedLinkScan); 1,000 of them stay
# under ~0.3 s in the worst arrangement measured ("[a](<" * 1000 + padding).
# Stock Python-Markdown needed ~7 s for "[" * 8000.
MAX_BRACKETS = 1_000
# Python-Markdown's block parser is quadratic in the lines of one block when
# they are rules or setext underlines: 10,000 lines of "=" took ~3 s, 2,000 take
# ~0.15 s. Real posts under MAX_SOURCE_CHARS are far below this.
MAX_LINES = 2_000
MAX_MENTIONS = 20

MentionURL = Callable[[str], str | None]


class MarkupError(ValueError):
    """The source can't be rendered; the message is meant for the author."""


@dataclass(frozen=True)
class Rendered:
    html: str
    text: str
    mentions: tuple[str, ...]


# --- URL policy ------------------------------------------------------------

_URL_SCHEMES = frozenset({"http", "https", "mailto"})
_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_HTTP_RE = re.compile(r"https?://", re.IGNORECASE)
# Cc/Cf hide schemes from sanitizers but not from browsers ("javascript\u200b:"
# is kept by nh3 as a relative URL); line/paragraph separators are just as odd
# inside a URL.
_SUSPICIOUS_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def _has_invisible_characters(value: str) -> bool:
    return any(unicodedata.category(ch) in _SUSPICIOUS_CATEGORIES for ch in value)


def _href_allowed(value: str, *, allow_site_paths: bool) -> bool:
    """Absolute http/https/mailto or an in-page ``#fragment``.

    ``allow_site_paths`` additionally admits ``/path`` (not ``//host`` or
    ``/\\host``, which browsers read as another host): authors can't produce
    those (the markdown layer drops them), only ``mention_url`` can.
    """
    if _has_invisible_characters(value):
        return False
    if value.startswith("#"):
        return True
    if allow_site_paths and value.startswith("/") and not value.startswith(("//", "/\\")) and "\\" not in value:
        return True
    match = _SCHEME_RE.match(value)
    return match is not None and match.group(1).lower() in _URL_SCHEMES


def _image_url_allowed(value: str) -> bool:
    # An image becomes a link only to a remote http(s) address: no data:, no
    # mailto:, and no relative paths that would name some URL of our own site.
    return not _has_invisible_characters(value) and _HTTP_RE.match(value) is not None


# --- nh3 --------------------------------------------------------------------

CODE_LANGUAGES = frozenset(
    {
        "bash",
        "c",
        "console",
        "cpp",
        "css",
        "diff",
        "dockerfile",
        "go",
        "html",
        "ini",
        "java",
        "javascript",
        "js",
        "json",
        "kotlin",
        "markdown",
        "matlab",
        "php",
        "py",
        "python",
        "r",
        "ruby",
        "rust",
        "sh",
        "shell",
        "spice",
        "sql",
        "text",
        "toml",
        "ts",
        "typescript",
        "verilog",
        "vhdl",
        "xml",
        "yaml",
        "yml",
    }
)

ALLOWED_TAGS = frozenset(
    {
        "p",
        "br",
        "hr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "strong",
        "em",
        "del",
        "code",
        "pre",
        "blockquote",
        "ul",
        "ol",
        "li",
        "a",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "abbr",
    }
)
# Posts show no images, only links to them (_FinishTree._images_as_links).
IMAGE_LINK_CLASS = "image-link"
# "class" is governed by ALLOWED_CLASSES and "rel" by link_rel; listing either
# here as well is a contradictory nh3 config. The empty "*" entry matters:
# without it ammonia's defaults allow "title" and "lang" on every tag.
ALLOWED_ATTRIBUTES: dict[str, frozenset[str]] = {
    "*": frozenset(),
    "a": frozenset({"href", "title"}),
    "th": frozenset({"align"}),
    "td": frozenset({"align"}),
    "abbr": frozenset({"title"}),
    "ol": frozenset({"start"}),
    "code": frozenset(),
}
ALLOWED_CLASSES: dict[str, frozenset[str]] = {
    "a": frozenset({"mention", IMAGE_LINK_CLASS}),
    "code": frozenset(f"language-{lang}" for lang in CODE_LANGUAGES),
}
LINK_REL = "nofollow ugc noopener"
_ALIGN_VALUES = frozenset({"left", "center", "right"})


def _check_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "href":
        return value if _href_allowed(value, allow_site_paths=True) else None
    if attribute == "class":
        allowed = ALLOWED_CLASSES.get(tag, frozenset())
        kept = [name for name in value.split() if name in allowed]
        # Returning "" would leave class="" behind; None drops the attribute.
        return " ".join(kept) or None
    if attribute == "align":
        return value if value in _ALIGN_VALUES else None
    if attribute == "start":
        return value if value.isascii() and value.isdigit() and len(value) <= 9 else None
    return value


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    # nh3 keeps an attribute whose filter raised, so a bug here must fail closed.
    try:
        return _check_attribute(tag, attribute, value)
    except Exception:
        logger.exception("markup attribute filter failed on <%s %s>", tag, attribute)
        return None


# Built at import so that a bad config fails at startup, not on a user's post.
_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags={"script", "style"},
    attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
    attribute_filter=_filter_attribute,
    strip_comments=True,
    link_rel=LINK_REL,
    url_schemes=set(_URL_SCHEMES),
    allowed_classes={tag: set(classes) for tag, classes in ALLOWED_CLASSES.items()},
)


def sanitize(fragment: str) -> str:
    """Run an HTML fragment through the same allowlist as rendered markdown."""
    return _CLEANER.clean(fragment)


# --- Python-Markdown extension ---------------------------------------------

_MENTION_TAG = "copsite-mention"
# A name may end in "+", "-" or "_" but not ".": "thanks @mira." means mira.
_MENTION_RE = r"(?<!\w)@([A-Za-z0-9_.+\-]+)"
_MAX_USERNAME = 150
# STX/ETX delimit Python-Markdown placeholders; a URL must not swallow one.
_BARE_URL_RE = r"(?<![\w/:@.\-])(?i:https?)://[^\s<>\x02\x03]+"
_URL_TRAILING = ".,:;!?'\"*_"


# Python-Markdown scans, character by character in Python, from every "[" to
# its "]" and from every "](" to its ")" — to the end of the paragraph when
# there is none, which made 870 "[" in 20,000 characters take 4 s. Link text
# and destinations longer than these, or link text with more nested or
# interleaved brackets, are not links.
_LINK_TEXT_LIMIT = 1_000
_LINK_TEXT_BRACKET_RUNS = 32
_LINK_TARGET_LIMIT = 1_000
_BRACKET_RUN_RE = re.compile(r"\[+|\]+")


class _BoundedLinkScan(LinkInlineProcessor):
    def getText(self, data: str, index: int) -> tuple[str, int, bool]:
        # The stock result within the limits, found by jumping between runs of
        # brackets in C rather than visiting every character.
        depth = 1
        runs = _BRACKET_RUN_RE.finditer(data, index, index + _LINK_TEXT_LIMIT)
        for run, _ in zip(runs, range(_LINK_TEXT_BRACKET_RUNS), strict=False):
            start, end = run.span()
            if data[start] == "[":
                depth += end - start
            elif end - start >= depth:
                close = start + depth - 1
                return data[index:close], close + 1, True
            else:
                depth -= end - start
        return "", index, False

    def getLink(self, data: str, index: int) -> tuple[str, str | None, int, bool]:
        return super().getLink(data[: index + _LINK_TARGET_LIMIT], index)


class _Link(_BoundedLinkScan):
    pass


class _Image(_BoundedLinkScan, ImageInlineProcessor):
    pass


class _Reference(_BoundedLinkScan, ReferenceInlineProcessor):
    pass


class _ShortReference(_BoundedLinkScan, ShortReferenceInlineProcessor):
    pass


class _ImageReference(_BoundedLinkScan, ImageReferenceInlineProcessor):
    pass


class _ShortImageReference(_BoundedLinkScan, ShortImageReferenceInlineProcessor):
    pass


_TICK_RUN_RE = re.compile(r"`+")


@dataclass(frozen=True)
class _TickRuns:
    """Runs of backticks in a text, positioned by distance from the text's end.

    Python-Markdown only ever replaces what lies before the point it has
    reached, so the table stays valid for the rest of the text.
    """

    source: str
    offsets: list[int]  # ascending distance from the end of `source` to each run's start
    by_length: dict[int, list[int]]  # run length → ascending offsets
    longest: list[tuple[int, int]]  # [k]: (length, offset) of the first-in-text longest run among offsets[: k + 1]

    @classmethod
    def of(cls, text: str) -> _TickRuns:
        runs = [(len(text) - m.start(), m.end() - m.start()) for m in _TICK_RUN_RE.finditer(text)]
        runs.reverse()
        by_length: dict[int, list[int]] = {}
        longest: list[tuple[int, int]] = []
        best = (0, 0)
        for offset, length in runs:
            by_length.setdefault(length, []).append(offset)
            if length >= best[0]:
                best = (length, offset)
            longest.append(best)
        return cls(text, [offset for offset, _ in runs], by_length, longest)


class _CodeSpans(BacktickInlineProcessor):
    """The stock code span pairing without its quadratic rescans.

    Every unpaired opening run made the stock method walk, in Python, to the
    end of the paragraph: "```\\" * 5000 took 4 s. This answers the same
    questions from a table of backtick runs built once per text.
    """

    def __init__(self, pattern: str) -> None:
        super().__init__(pattern)
        self._runs: _TickRuns | None = None
        self._text = ""

    def _runs_for(self, text: str, start: int) -> _TickRuns:
        runs = self._runs
        # Still valid if what is left of the text is the end of the one the table was built from.
        if runs is None or (text is not self._text and not runs.source.endswith(text[start:])):
            runs = self._runs = _TickRuns.of(text)
        self._text = text
        return runs

    # Markdown's own signature; types-Markdown misstates it as ``tuple[int, int] | None``.
    def find_code_spans(self, start: int, text: str) -> tuple[int, int | None]:  # type: ignore[override]  # see above
        opening = _TICK_RUN_RE.match(text, start)
        max_ticks = opening.end() - start if opening else 0
        start += max_ticks
        runs = self._runs_for(text, start)
        rest = len(text) - start
        # The first later run of exactly the same length closes the span...
        same = runs.by_length.get(max_ticks, [])
        i = bisect_right(same, rest) - 1
        if i >= 0:
            return start, len(text) - same[i]
        # ...else the first of the longest later runs, if shorter than the opening.
        k = bisect_right(runs.offsets, rest) - 1
        if k >= 0:
            length, offset = runs.longest[k]
            if 0 < length < max_ticks:
                return start - (max_ticks - length), len(text) - offset
        return start + max_ticks, None


class _MentionPattern(InlineProcessor):
    # Link text is already a link; nothing else (code) reaches inline patterns.
    ANCESTOR_EXCLUDES = ("a",)

    # InlineProcessor's handleMatch takes ``data``, Pattern's does not (Markdown's design; its stubs ignore it too).
    def handleMatch(  # type: ignore[override]  # see above
        self, m: re.Match[str], data: str
    ) -> tuple[etree.Element | None, int | None, int | None]:
        name = m.group(1).rstrip(".")
        if not name or len(name) > _MAX_USERNAME:
            return None, None, None
        # Decided later, in document order, by _FinishTree: link, count or plain text.
        el = etree.Element(_MENTION_TAG)
        el.text = AtomicString("@" + name)
        return el, m.start(0), m.start(1) + len(name)


class _BareURLPattern(InlineProcessor):
    ANCESTOR_EXCLUDES = ("a",)

    # InlineProcessor's handleMatch takes ``data``, Pattern's does not (Markdown's design; its stubs ignore it too).
    def handleMatch(  # type: ignore[override]  # see above
        self, m: re.Match[str], data: str
    ) -> tuple[etree.Element | None, int | None, int | None]:
        url = m.group(0)
        # Sentence punctuation after a URL, and a ")" closing prose around it, aren't part of it.
        while url and (url[-1] in _URL_TRAILING or (url[-1] == ")" and url.count("(") < url.count(")"))):
            url = url[:-1]
        if len(url) <= len("https://") or url.endswith("//"):
            return None, None, None
        el = etree.Element("a")
        el.set("href", url)
        el.text = AtomicString(url)
        return el, m.start(0), m.start(0) + len(url)


def _as_browser_reads(value: str) -> str:
    # Markdown leaves entities in attributes ("&#106;avascript:") and writes
    # automail hrefs with a placeholder for "&"; judge the decoded URL.
    return html.unescape(value.replace(AMP_SUBSTITUTE, "&"))


class _FinishTree(Treeprocessor):
    """Runs after the inline patterns: URL policy for authored links, then mentions."""

    def __init__(self, md: markdown.Markdown, mention_url: MentionURL | None, mentions: list[str]) -> None:
        super().__init__(md)
        self.mention_url = mention_url
        self.mentions = mentions

    def run(self, root: etree.Element) -> None:
        for el in root.iter("a"):
            href = el.get("href")
            if href is not None and not _href_allowed(_as_browser_reads(href), allow_site_paths=False):
                del el.attrib["href"]
        self._images_as_links(root)
        self._resolve_mentions(root)

    @staticmethod
    def _images_as_links(root: etree.Element) -> None:
        """Every image becomes a link to it, labelled with its alt text.

        A remote image loads when the page is read, telling its host each
        reader's address, browser and reading time, in private communities
        too; a link tells it only about those who choose to open it. Inside
        a link (a badge, a linked picture) only the alt text stays, since
        links can't nest; so does an image whose address isn't http(s).
        """
        in_links = {img for a in root.iter("a") for img in a.iter("img")}
        unwrap: dict[etree.Element, set[etree.Element]] = {}
        for parent in root.iter():
            for img in parent:
                if img.tag != "img":
                    continue
                src, alt, title = img.get("src"), img.get("alt") or "", img.get("title")
                img.attrib.clear()
                if img in in_links or src is None or not _image_url_allowed(_as_browser_reads(src)):
                    img.text = AtomicString(alt or ("image" if img in in_links else ""))
                    unwrap.setdefault(parent, set()).add(img)
                    continue
                img.tag = "a"
                img.set("href", src)
                img.set("class", IMAGE_LINK_CLASS)
                if title:
                    img.set("title", title)
                img.text = AtomicString(alt or src)
        for parent, images in unwrap.items():
            _unwrap_children(parent, images)

    def _resolve_mentions(self, root: etree.Element) -> None:
        urls: dict[str, str | None] = {}
        plain: set[etree.Element] = set()
        parents: list[etree.Element] = []
        for parent in root.iter():
            has_mention = False
            for el in parent:
                if el.tag != _MENTION_TAG:
                    continue
                has_mention = True
                name = (el.text or "")[1:].lower()
                if name not in urls:
                    if len(self.mentions) >= MAX_MENTIONS:
                        plain.add(el)
                        continue
                    self.mentions.append(name)
                    urls[name] = self.mention_url(name) if self.mention_url is not None else None
                url = urls[name]
                if url:
                    el.tag = "a"
                    el.set("href", url)
                    el.set("class", "mention")
                else:
                    plain.add(el)
            if has_mention:
                parents.append(parent)
        # One rebuild per parent: unwrapping children one by one is quadratic
        # when a post is thousands of "@x".
        for parent in parents:
            _unwrap_children(parent, plain)


def _unwrap_children(parent: etree.Element, unwrap: set[etree.Element]) -> None:
    kept: list[etree.Element] = []
    head: list[str] = [parent.text or ""]
    tails: list[list[str]] = []
    for child in parent:
        if child in unwrap:
            (tails[-1] if kept else head).extend((child.text or "", child.tail or ""))
        else:
            kept.append(child)
            tails.append([child.tail or ""])
    parent.text = "".join(head) or None
    for child, tail in zip(kept, tails, strict=True):
        child.tail = "".join(tail) or None
    parent[:] = kept


class _CopsiteExtension(Extension):
    def __init__(self, mention_url: MentionURL | None) -> None:
        super().__init__()
        self.mention_url = mention_url
        self.mentions: list[str] = []

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        # Markdown only: typed HTML comes out as text. Links and the rest of
        # the policy still need the sanitizer, since markdown itself makes
        # javascript: links (also entity-encoded, also via references).
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        # Same names and priorities as the stock patterns they replace.
        md.inlinePatterns.register(_CodeSpans(BACKTICK_RE), "backtick", 190)
        md.inlinePatterns.register(_Reference(REFERENCE_RE, md), "reference", 170)
        md.inlinePatterns.register(_Link(LINK_RE, md), "link", 160)
        md.inlinePatterns.register(_Image(IMAGE_LINK_RE, md), "image_link", 150)
        md.inlinePatterns.register(_ImageReference(IMAGE_REFERENCE_RE, md), "image_reference", 140)
        md.inlinePatterns.register(_ShortReference(REFERENCE_RE, md), "short_reference", 130)
        md.inlinePatterns.register(_ShortImageReference(IMAGE_REFERENCE_RE, md), "short_image_ref", 125)
        # After "<https://…>" autolinks (120), before automail (110), line breaks and emphasis,
        # so that URLs and names stay atomic ("https://x.org/a_b_c", "@a_b_").
        md.inlinePatterns.register(_BareURLPattern(_BARE_URL_RE, md), "copsite_bare_url", 115)
        md.inlinePatterns.register(_MentionPattern(_MENTION_RE, md), "copsite_mention", 105)
        # After "inline" (20), before "prettify" (10).
        md.treeprocessors.register(_FinishTree(md, self.mention_url, self.mentions), "copsite_finish", 15)


def _markdown(mention_url: MentionURL | None) -> tuple[markdown.Markdown, _CopsiteExtension]:
    # A fresh instance per call (~0.5 ms): Markdown objects keep per-document
    # state, aren't thread-safe, and one that hit RecursionError mid-way is
    # best thrown away.
    ext = _CopsiteExtension(mention_url)
    md = markdown.Markdown(
        extensions=["fenced_code", "tables", "sane_lists", ext],
        extension_configs={"tables": {"use_align_attribute": True}},
        output_format="html",
    )
    return md, ext


# --- plain text -------------------------------------------------------------

_BLOCK_TAGS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "hr", "pre"})
_WHITESPACE_RE = re.compile(r"\s+")


@dataclass
class _ListState:
    number: int | None  # the next item's number; None in a bulleted list


class _TextExtractor(HTMLParser):
    """Sanitized HTML → plain text: paragraphs split by blank lines, list items by line breaks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.pending_break = 0
        self.pending_bullet = ""
        self.in_pre = 0
        self.lists: list[_ListState] = []
        self.links: list[tuple[str | None, int]] = []
        self.first_cell = True

    def _request_break(self, lines: int) -> None:
        if self.lists:
            lines = 1
        self.pending_break = max(self.pending_break, lines)

    def _ends_with_space(self) -> bool:
        return not self.out or self.out[-1][-1:] in (" ", "\n")

    def _write(self, text: str, *, raw: bool = False) -> None:
        if not raw:
            text = _WHITESPACE_RE.sub(" ", text)
            if self.pending_break or self.pending_bullet or self._ends_with_space():
                text = text.lstrip(" ")
        if not text:
            return
        if self.pending_break and self.out:
            self.out[-1] = self.out[-1].rstrip(" \n")
            self.out.append("\n" * self.pending_break)
        self.pending_break = 0
        if self.pending_bullet:
            self.out.append(self.pending_bullet)
            self.pending_bullet = ""
        self.out.append(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self._request_break(2)
            if tag == "pre":
                self.in_pre += 1
        elif tag in ("ul", "ol"):
            self._request_break(2)
            start = dict(attrs).get("start") or "1"
            self.lists.append(_ListState(int(start) if tag == "ol" and start.isdigit() else None))
        elif tag == "li":
            self._request_break(1)
            if self.lists:
                state = self.lists[-1]
                indent = "  " * (len(self.lists) - 1)
                if state.number is None:
                    self.pending_bullet = f"{indent}- "
                else:
                    self.pending_bullet = f"{indent}{state.number}. "
                    state.number += 1
        elif tag == "br":
            self._request_break(1)
        elif tag == "tr":
            self._request_break(1)
            self.first_cell = True
        elif tag in ("td", "th"):
            if not self.first_cell and self.out:
                self.out[-1] = self.out[-1].rstrip(" ")
                self._write(" | ", raw=True)
            self.first_cell = False
        elif tag == "a":
            self.links.append((dict(attrs).get("href"), len(self.out)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCK_TAGS:
            if tag == "pre":
                self.in_pre = max(0, self.in_pre - 1)
            self._request_break(2)
        elif tag in ("ul", "ol"):
            if self.lists:
                self.lists.pop()
            self._request_break(2)
        elif tag == "li":
            self.pending_bullet = ""
            self._request_break(1)
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            # Mail and digest text parts lose the link otherwise; site-relative
            # mention links mean nothing outside the page.
            if href and (_HTTP_RE.match(href) or href.startswith("mailto:")):
                label = "".join(self.out[start:]).strip()
                if not label:
                    self._write(href, raw=True)
                elif label not in (href, href.removeprefix("mailto:")):
                    self._write(f" ({href})", raw=True)

    def handle_data(self, data: str) -> None:
        self._write(data, raw=self.in_pre > 0)

    def text(self) -> str:
        return "".join(self.out).strip()


def _plain_text(sanitized_html: str) -> str:
    parser = _TextExtractor()
    parser.feed(sanitized_html)
    parser.close()
    return parser.text()


# --- entry points -----------------------------------------------------------

# NUL and other C0 controls have no business in a post; STX/ETX would even
# address Python-Markdown's internal placeholders. Lone surrogates can't be
# encoded and would make nh3 raise.
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_CODE_LANGUAGE_RE = re.compile(r'<code class="language-([^"]+)">')


def _check_limits(source: str) -> None:
    if len(source) > MAX_SOURCE_CHARS:
        raise MarkupError(f"This text is too long ({len(source):,} characters); the limit is {MAX_SOURCE_CHARS:,}.")
    lines = source.count("\n") + (not source.endswith("\n"))
    if lines > MAX_LINES:
        raise MarkupError(f"This text has too many lines ({lines:,}); the limit is {MAX_LINES:,}.")
    brackets = source.count("[")
    if brackets > MAX_BRACKETS:
        raise MarkupError(
            f"This text has too many square brackets “[” ({brackets:,}); the limit is {MAX_BRACKETS:,}. "
            "Put long runs of brackets inside a code block."
        )


def render(source: str, *, mention_url: MentionURL | None = None) -> Rendered:
    """Markdown source → sanitized HTML, plain text and mentioned usernames.

    ``mention_url(username)`` gets a lower-cased name and returns the profile
    URL, or None for someone who shouldn't be linked; the names are reported
    in ``mentions`` either way. Raises ``MarkupError`` (a ``ValueError`` with a
    message for the author) for input that is too long or too deeply nested.
    """
    # Python-Markdown reads a lone "\r" as a line break too; count lines the way it will.
    source = source.replace("\r\n", "\n").replace("\r", "\n")
    _check_limits(source)
    source = _CONTROL_RE.sub("", source)
    md, ext = _markdown(mention_url)
    try:
        raw_html = md.convert(source)
    except RecursionError:
        raise MarkupError(
            "This text is nested too deeply (lists or quotes inside each other) to display. Please flatten it a little."
        ) from None
    # ```Python should get the same highlighting class as ```python.
    raw_html = _CODE_LANGUAGE_RE.sub(lambda m: f'<code class="language-{m.group(1).lower()}">', raw_html)
    clean_html = _CLEANER.clean(raw_html)
    return Rendered(html=clean_html, text=_plain_text(clean_html), mentions=tuple(ext.mentions))


def render_markdown(source: str) -> str:
    """Markdown source → sanitized HTML."""
    return render(source).html
