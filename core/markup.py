"""The only place where user-written markdown becomes HTML.

Two independent layers, so that a bug in one is not an XSS on its own:

1. markdown-it-py (CommonMark, raw HTML switched off) with a token pass that
   drops link URLs outside a strict policy and turns images into links;
2. nh3 with an explicit allowlist of tags, attributes, classes and URL schemes.

Output is meant to be rendered once at save time and stored with
``RENDER_VERSION``, never at request time (docs/reliability.md, "Markup").
The dialect members write is described in docs/markup.md.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from types import SimpleNamespace
from typing import Any

import nh3
from markdown_it import MarkdownIt, helpers
from markdown_it.common.utils import escapeHtml, unescapeAll
from markdown_it.helpers.parse_link_destination import _Result as _DestinationResult
from markdown_it.renderer import RendererHTML
from markdown_it.rules_block import StateBlock
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline, backticks, emphasis, strikethrough
from markdown_it.token import Token

logger = logging.getLogger(__name__)

# Bump whenever the HTML or text produced for the same source changes; the
# re-render command selects rows whose stored version is behind this one.
# 2: images became links (_images_as_links).
# 3: markdown-it-py (CommonMark) replaced Python-Markdown: single newlines
#    break lines, lists may follow a line directly, task lists, strikethrough,
#    headings start at <h3>, [quote] blocks, "#123" thread links, site pictures.
RENDER_VERSION: int = 3

# The parser is linear in its input (CommonMark's reference algorithms), but
# each block costs tens of microseconds: 20,000 characters of "- a" lines
# (5,000 list items) took ~175 ms, of "a" lines ~120 ms. The line limit keeps
# every input of the allowed size under 50 ms (tests/test_markup_dialect.py,
# "timing"); a real post is far below both.
MAX_SOURCE_CHARS = 20_000
MAX_LINES = 1_000
MAX_MENTIONS = 20
# "#123" thread links per text (and so at most this many look-ups); later ones stay text.
MAX_THREAD_LINKS = 50

MentionURL = Callable[[str], str | None]
ThreadURL = Callable[[int], str | None]


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
    those (the markdown layer drops them, except uploaded files), only the
    ``mention_url``/``thread_url`` callbacks and [quote] attributions can.
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


# Pictures uploaded to the site: /attachments/<key>/<filename>, shown through
# their thumbnail /attachments/<key>/t/<filename>.
_ATTACHMENT_KEY = r"[A-Za-z0-9_-]{16,64}"
_ATTACHMENT_NAME = r"[A-Za-z0-9._-]{1,120}"
_ATTACHMENT_RE = re.compile(rf"/attachments/({_ATTACHMENT_KEY})/({_ATTACHMENT_NAME})")
_ATTACHMENT_THUMB_RE = re.compile(rf"/attachments/{_ATTACHMENT_KEY}/t/{_ATTACHMENT_NAME}")


def _attachment(value: str) -> re.Match[str] | None:
    match = _ATTACHMENT_RE.fullmatch(value)
    # "." and ".." would be read as path segments by a browser.
    return match if match and match.group(2) not in (".", "..") else None


def _attachment_thumbnail(value: str) -> bool:
    return _ATTACHMENT_THUMB_RE.fullmatch(value) is not None and not value.endswith(("/.", "/.."))


# The post permalink (discussions.urls "post"), used by [quote] attributions.
POST_PERMALINK = "/p/{}/"

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

# No <h1>/<h2>: the page owns those; post headings start at <h3> (_HEADING_TAGS).
ALLOWED_TAGS = frozenset(
    {
        "p",
        "br",
        "hr",
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
        # Only a site picture's thumbnail (_check_attribute), only a read-only checkbox (_only_allowed_voids).
        "img",
        "input",
    }
)
# Remote images are links to them (_images_as_links); site pictures link to the original.
IMAGE_LINK_CLASS = "image-link"
ATTACHMENT_IMAGE_CLASS = "attachment-image"
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
    "img": frozenset({"src", "alt", "loading"}),
    "input": frozenset({"type", "disabled", "checked"}),
}
ALLOWED_CLASSES: dict[str, frozenset[str]] = {
    "a": frozenset({"mention", "thread-link", IMAGE_LINK_CLASS, ATTACHMENT_IMAGE_CLASS}),
    "code": frozenset(f"language-{lang}" for lang in CODE_LANGUAGES),
    "ul": frozenset({"contains-task-list"}),
    "li": frozenset({"task-list-item"}),
    "blockquote": frozenset({"quote"}),
    "p": frozenset({"quote-source"}),
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
    if tag == "img":
        if attribute == "src":
            return value if _attachment_thumbnail(value) else None
        if attribute == "loading":
            return "lazy" if value == "lazy" else None
    if tag == "input":
        if attribute == "type":
            return "checkbox" if value == "checkbox" else None
        # Boolean attributes: present or not, whatever value was written.
        return ""
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

# nh3's output quotes every attribute value and escapes '"' inside it, so it can be read back with a regex.
_VOID_RE = re.compile(r"<(input|img)\b([^>]*)>")
_ATTRIBUTE_RE = re.compile(r'([a-z][a-z-]*)="([^"]*)"')
_CHECKBOX = '<input type="checkbox" disabled="">'
_CHECKED_CHECKBOX = '<input type="checkbox" disabled="" checked="">'


def _only_allowed_voids(cleaned: str) -> str:
    """An <input> survives only as a disabled checkbox, rewritten in one fixed form; an <img> only with its src."""

    def keep(match: re.Match[str]) -> str:
        attributes = dict(_ATTRIBUTE_RE.findall(match.group(2)))
        if match.group(1) == "img":
            return match.group(0) if "src" in attributes else ""
        if attributes.get("type") != "checkbox" or "disabled" not in attributes:
            return ""
        return _CHECKED_CHECKBOX if "checked" in attributes else _CHECKBOX

    return _VOID_RE.sub(keep, cleaned) if "<i" in cleaned else cleaned


def sanitize(fragment: str) -> str:
    """Run an HTML fragment through the same allowlist as rendered markdown."""
    return _only_allowed_voids(_CLEANER.clean(fragment))


# --- markdown-it-py -----------------------------------------------------------

# A name may end in "+", "-" or "_" but not ".": "thanks @mira." means mira.
# Bounded so a long run costs one short match; longer than a username is text.
_MAX_USERNAME = 150
_MENTION_NAME_RE = re.compile(rf"[A-Za-z0-9_.+\-]{{1,{_MAX_USERNAME + 1}}}")
# "#123" links a thread: not after a word character or "&" ("a#1", "&#123;").
_THREAD_NUMBER_RE = re.compile(r"[0-9]{1,18}(?![\w])")
_WORD_RE = re.compile(r"\w")
_URL_PRECEDING_RE = re.compile(r"[\w/:@.\-]")
_BARE_URL_REST_RE = re.compile(r"//[^\s<>]+")
_URL_TRAILING = ".,:;!?'\"*_"
_HEADING_TAGS = {"h1": "h3", "h2": "h4", "h3": "h5", "h4": "h6", "h5": "h6", "h6": "h6"}
_DELETED_TAGS = {"s_open", "s_close"}
# [quote="name, post:123"] … [/quote], each marker on a line of its own.
_QUOTE_OPEN_RE = re.compile(r'\[quote(?:="([^"\n]{0,200})")?\][ \t]*', re.IGNORECASE)
_QUOTE_CLOSE_RE = re.compile(r"\[/quote\][ \t]*", re.IGNORECASE)
_QUOTE_POST_RE = re.compile(r"post:\s*([0-9]{1,18})")
MAX_QUOTE_DEPTH = 8
# Lines the [quote] rule may visit looking for closing markers, per text: far
# beyond real posts (each line is visited about once, _quote_close).
_QUOTE_SCAN_BUDGET = 20_000
# Containers (quotes, lists) deeper than this are shown as plain paragraphs
# from there on; markdown-it would drop content past maxNesting, and each level
# is a few Python frames.
_FLATTEN_LEVEL = 16
_MAX_NESTING = 20
# Steps of link label scanning per text: real posts use a fraction of this
# (a step is a token inside a label), brackets crafted to rescan stop here.
_LABEL_STEPS = 20_000


@dataclass
class _Env:
    """Per-render state carried in markdown-it's env."""

    mention_url: MentionURL | None
    thread_url: ThreadURL | None
    mentions: list[str]
    quote_depth: int = 0
    quote_budget: int = _QUOTE_SCAN_BUDGET
    labels: dict[tuple[int, bool, int], int] = field(default_factory=dict)
    quote_pairs: dict[tuple[int, int, int], int] = field(default_factory=dict)
    label_steps: int = _LABEL_STEPS


def _text_token(content: str) -> Token:
    token = Token("text", "", 0)
    token.content = content
    return token


def _mention_rule(state: StateInline, silent: bool) -> bool:
    pos, src = state.pos, state.src
    # Link text is already a link; code spans never reach inline rules.
    if src[pos] != "@" or state.linkLevel > 0 or (pos > 0 and _WORD_RE.match(src[pos - 1])):
        return False
    match = _MENTION_NAME_RE.match(src, pos + 1, state.posMax)
    if match is None:
        return False
    name = match.group(0).rstrip(".")
    if not name or len(name) > _MAX_USERNAME:
        return False
    if not silent:
        state.push("copsite_mention", "", 0).content = "@" + name
    state.pos = pos + 1 + len(name)
    return True


def _thread_rule(state: StateInline, silent: bool) -> bool:
    pos, src = state.pos, state.src
    if src[pos] != "#" or state.linkLevel > 0 or (pos > 0 and (src[pos - 1] == "&" or _WORD_RE.match(src[pos - 1]))):
        return False
    match = _THREAD_NUMBER_RE.match(src, pos + 1, state.posMax)
    if match is None:
        return False
    if not silent:
        state.push("copsite_thread", "", 0).content = "#" + match.group(0)
    state.pos = match.end()
    return True


def _bare_url_rule(state: StateInline, silent: bool) -> bool:
    """http(s)://… in running text becomes a link, found at its ":" (the scheme is pending text)."""
    pos, src = state.pos, state.src
    if src[pos] != ":" or state.linkLevel > 0:
        return False
    for scheme_length in (5, 4):
        start = pos - scheme_length
        if start >= 0 and src[start:pos].lower() == ("https", "http")[scheme_length == 4]:
            break
    else:
        return False
    if start > 0 and _URL_PRECEDING_RE.match(src[start - 1]):
        return False
    pending = state.pending
    if pending[-scheme_length:] != src[start:pos]:
        return False  # the scheme isn't plain text of its own (escaped, or part of another token)
    rest = _BARE_URL_REST_RE.match(src, pos + 1, state.posMax)
    if rest is None:
        return False
    url = src[start : rest.end()]
    # Sentence punctuation after a URL, and a ")" closing prose around it, aren't part of it.
    opening, closing = url.count("("), url.count(")")
    end = len(url)
    while end and (url[end - 1] in _URL_TRAILING or (url[end - 1] == ")" and opening < closing)):
        closing -= url[end - 1] == ")"
        end -= 1
    url = url[:end]
    if len(url) <= len("https://") or url.endswith("//"):
        return False
    if not silent:
        state.pending = pending[:-scheme_length]
        link = state.push("link_open", "a", 1)
        link.attrs = {"href": state.md.normalizeLink(url)}
        link.markup, link.info = "linkify", "auto"
        state.push("text", "", 0).content = state.md.normalizeLinkText(url)
        state.push("link_close", "a", -1)
    state.pos = start + len(url)
    return True


def _parse_link_label(state: StateInline, start: int, disable_nested: bool = False) -> int:
    """markdown-it's link label scan, with every bracket it passes answered at once.

    The stock scan walks from each "[" to its "]", or to the end of the
    paragraph when there is none: quadratic in a run of "[". One walk here
    pairs every plain "[" it passes with its "]" (or with none) on a stack,
    and later calls for those positions are answered from the memo. A label
    needs a "]" somewhere after it, and all the scans of one text share a
    budget of steps (_LABEL_STEPS): past it, brackets are text.
    """
    env: _Env = state.env["copsite"]
    memo = env.labels
    old_pos, end, src = state.pos, state.posMax, state.src
    key = (start, disable_nested, end)
    if key in memo:
        return memo[key]
    if env.label_steps <= 0 or src.rfind("]", start + 1, end) < 0:
        memo[key] = -1
        return -1
    state.pos = start + 1
    opened: list[int] = []
    label_end = -1
    while state.pos < end:
        env.label_steps -= 1
        if env.label_steps < 0:
            opened.append(start)  # out of budget: no label from here on
            break
        marker = src[state.pos]
        if marker == "]":
            if not opened:
                label_end = state.pos
                break
            memo[(opened.pop(), disable_nested, end)] = state.pos
        before = state.pos
        state.md.inline.skipToken(state)
        if marker == "[":
            if before == state.pos - 1:
                opened.append(before)
            elif disable_nested:
                # A link inside: no label around it may be a link's.
                break
    for position in opened:
        memo[(position, disable_nested, end)] = -1
    memo[key] = label_end
    state.pos = old_pos
    return label_end


# CommonMark lets implementations limit parenthesis nesting in a link
# destination (at least three levels); markdown-it's 32, walked a character
# at a time, made "[a](" repeated cost 128 steps per bracket.
_DESTINATION_PARENS = 8
_DESTINATION_RUN_RE = re.compile(r"[^\x00-\x20\x7f()\\]*")
_DESTINATION_ANGLED_RE = re.compile(r"(?:[^<>\n\\]|\\.)*>")


def _parse_link_destination(string: str, pos: int, maximum: int) -> _DestinationResult:
    """A link destination (CommonMark "link destination") from ``pos``: ``<…>`` or a run with balanced parentheses."""
    result = _DestinationResult()
    if pos < maximum and string[pos] == "<":
        angled = _DESTINATION_ANGLED_RE.match(string, pos + 1, maximum)
        if angled is not None:
            result.ok, result.pos, result.str = True, angled.end(), unescapeAll(string[pos + 1 : angled.end() - 1])
        return result
    start, level = pos, 0
    while pos < maximum:
        pos = _DESTINATION_RUN_RE.match(string, pos, maximum).end()  # type: ignore[union-attr]  # "*" always matches
        if pos >= maximum:
            break
        char = string[pos]
        if char == "\\":
            if pos + 1 < maximum and string[pos + 1] == " ":
                break
            pos += 2  # escapes what follows, or is itself the last character
            continue
        if char == "(":
            level += 1
            if level > _DESTINATION_PARENS:
                return result
        elif char == ")" and level:
            level -= 1
        else:
            break  # a space, a control character, or the ")" that closes the link
        pos += 1
    pos = min(pos, maximum)
    if pos > start and level == 0:
        result.ok, result.pos, result.str = True, pos, unescapeAll(string[start:pos])
    return result


def _line(state: StateBlock, line: int) -> str:
    return state.src[state.bMarks[line] + state.tShift[line] : state.eMarks[line]]


def _quote_rule(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
    """A [quote] … [/quote] block: a blockquote with an optional attribution line."""
    if state.sCount[start_line] - state.blkIndent >= 4:
        return False
    opening = _QUOTE_OPEN_RE.fullmatch(_line(state, start_line))
    env: _Env = state.env["copsite"]
    if opening is None or env.quote_depth >= MAX_QUOTE_DEPTH:
        return False
    close_line = _quote_close(state, start_line, end_line, env)
    if close_line < 0:
        return False
    if silent:
        return True
    old_parent, old_line_max = state.parentType, state.lineMax
    state.parentType = "blockquote"
    state.lineMax = close_line
    token = state.push("quote_open", "blockquote", 1)
    token.attrs = {"class": "quote"}
    token.markup, token.block, token.map = "[quote]", True, [start_line, close_line + 1]
    name, post = _attribution(opening.group(1))
    if name:
        source = state.push("quote_source", "", 0)
        source.meta = {"name": name, "post": post}
        source.block = True
    env.quote_depth += 1
    state.md.block.tokenize(state, start_line + 1, close_line)
    env.quote_depth -= 1
    token = state.push("quote_close", "blockquote", -1)
    token.markup, token.block = "[/quote]", True
    state.parentType, state.lineMax = old_parent, old_line_max
    state.line = close_line + 1
    return True


def _quote_close(state: StateBlock, start_line: int, end_line: int, env: _Env) -> int:
    """The line of the [/quote] matching the [quote] on ``start_line`` at this indentation, or -1.

    One walk pairs every [quote] it passes with its [/quote] (or with none)
    on a stack, so nested quotes and paragraphs of markers never walk again.
    """

    def key(line: int) -> tuple[int, int, int]:
        return line, state.blkIndent, state.bMarks[line]

    known = env.quote_pairs.get(key(start_line))
    if known is not None:
        return known if known < end_line else -1
    opened, line, indent = [start_line], start_line, state.sCount[start_line]
    while opened:
        line += 1
        env.quote_budget -= 1
        if (
            line >= end_line
            or env.quote_budget < 0
            or (
                state.sCount[line] < state.blkIndent and not state.isEmpty(line)  # the container around us ended
            )
        ):
            for position in opened:
                env.quote_pairs[key(position)] = -1
            return -1
        if state.sCount[line] != indent:
            continue  # markers pair up at the indentation they open at
        text = _line(state, line)
        if _QUOTE_CLOSE_RE.fullmatch(text):
            env.quote_pairs[key(opened.pop())] = line
        elif _QUOTE_OPEN_RE.fullmatch(text):
            opened.append(line)
    return line


def _attribution(value: str | None) -> tuple[str, int | None]:
    """'name, post:123, topic:4' → ('name', 123); the post only when it parses."""
    if not value:
        return "", None
    name, _, rest = value.partition(",")
    post = _QUOTE_POST_RE.search(rest)
    return name.strip()[:_MAX_USERNAME], int(post.group(1)) if post else None


def _render_quote_source(renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    meta = tokens[idx].meta
    name = escapeHtml(meta["name"])
    if meta["post"] is not None:
        name = f'<a href="{POST_PERMALINK.format(meta["post"])}">{name}</a>'
    return f'<p class="quote-source">{name} wrote:</p>\n'


def _flatten_deep(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
    """Past _FLATTEN_LEVEL, the rest of a block is one paragraph: nothing is lost, nothing nests further."""
    if silent or state.level < _FLATTEN_LEVEL:
        return False
    line = start_line + 1
    while line < end_line and not state.isEmpty(line) and state.sCount[line] >= state.blkIndent:
        line += 1
    token = state.push("paragraph_open", "p", 1)
    token.map = [start_line, line]
    token = state.push("inline", "", 0)
    token.content = state.getLines(start_line, line, state.blkIndent, False).strip()
    token.map, token.children = [start_line, line], []
    state.push("paragraph_close", "p", -1)
    state.line = line
    return True


def _plain_inline(tokens: Sequence[Token] | None) -> str:
    """The words of inline tokens (an image's alt text)."""
    out: list[str] = []
    for token in tokens or ():
        if token.type in ("text", "code_inline", "copsite_mention", "copsite_thread"):
            out.append(token.content)
        elif token.type == "image":
            out.append(_plain_inline(token.children))
        elif token.type in ("softbreak", "hardbreak"):
            out.append(" ")
    return "".join(out)


def _authored_href_allowed(href: str) -> bool:
    # Site paths only for pictures and files uploaded here; mention and
    # thread links come from the callbacks, not from authors.
    return _href_allowed(href, allow_site_paths=False) or _attachment(href) is not None


def _finish(state: StateCore) -> None:
    """After parsing: heading levels, table alignment, code languages, then links, images, mentions, threads."""
    env: _Env = state.env["copsite"]
    inlines: list[Token] = []
    lists: list[Token] = []
    tokens = state.tokens
    for i, token in enumerate(tokens):
        if token.type in ("bullet_list_open", "ordered_list_open"):
            lists.append(token)
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif token.type == "inline" and i >= 2 and tokens[i - 2].type == "list_item_open" and lists:
            _task_item(tokens[i - 2], token, lists[-1])
        if token.type in ("heading_open", "heading_close"):
            token.tag = _HEADING_TAGS.get(token.tag, "h6")
        elif token.type in ("th_open", "td_open") and token.attrs:
            style = str(token.attrs.pop("style", ""))
            if style.startswith("text-align:"):
                token.attrs["align"] = style.removeprefix("text-align:")
        elif token.type == "fence":
            words = token.info.split(maxsplit=1)
            language = words[0].lower() if words else ""
            token.info = language if language in CODE_LANGUAGES else ""
        elif token.type == "inline" and token.children:
            token.children = _links_and_images(token.children)
            inlines.append(token)
    _resolve_references(env, inlines)


_TASK_RE = re.compile(r"\[([ xX])\](?: |$)")


def _task_item(item: Token, inline: Token, parent: Token) -> None:
    """ "- [ ] a" / "- [x] a": a read-only checkbox (GitHub task lists)."""
    children = inline.children
    if not children or children[0].type != "text":
        return
    first = children[0]
    match = _TASK_RE.match(first.content)
    if match is None:
        return
    first.content = first.content[3:]
    box = Token("task_checkbox", "input", 0)
    box.meta = {"checked": match.group(1) != " "}
    children.insert(0, box)
    item.attrs["class"] = "task-list-item"
    parent.attrs["class"] = "contains-task-list"


def _render_task_checkbox(renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return _CHECKED_CHECKBOX if tokens[idx].meta["checked"] else _CHECKBOX


def _links_and_images(tokens: list[Token]) -> list[Token]:
    out: list[Token] = []
    in_link = 0
    for token in tokens:
        if token.type == "link_open":
            in_link += 1
            href = token.attrs.get("href")
            if href is not None and not _authored_href_allowed(str(href)):
                del token.attrs["href"]
        elif token.type == "link_close":
            in_link -= 1
        elif token.type in _DELETED_TAGS:
            token.tag = "del"
        elif token.type == "image":
            out.extend(_images_as_links(token, inside_link=in_link > 0))
            continue
        out.append(token)
    return out


def _images_as_links(image: Token, *, inside_link: bool) -> list[Token]:
    """A remote image becomes a link to it, labelled with its alt text; a site picture shows its thumbnail.

    A remote image loads when the page is read, telling its host each
    reader's address, browser and reading time, in private communities
    too; a link tells it only about those who choose to open it. Inside
    a link (a badge, a linked picture) only the alt text stays, since
    links can't nest; so does an image whose address isn't http(s).
    Pictures uploaded here tell nobody outside anything.
    """
    src, alt = str(image.attrs.get("src", "")), _plain_inline(image.children)
    if inside_link:
        return [_text_token(alt or "image")]
    link = Token("link_open", "a", 1)
    attachment = _attachment(src)
    if attachment is not None:
        key, name = attachment.groups()
        link.attrs = {"href": src, "class": ATTACHMENT_IMAGE_CLASS}
        thumbnail = Token("image", "img", 0)
        thumbnail.attrs = {"src": f"/attachments/{key}/t/{name}", "alt": "", "loading": "lazy"}
        thumbnail.children, thumbnail.content = [_text_token(alt)], alt
        return [link, thumbnail, Token("link_close", "a", -1)]
    if not _image_url_allowed(src):
        return [_text_token(alt)] if alt else []
    link.attrs = {"class": IMAGE_LINK_CLASS, "href": src}
    title = image.attrs.get("title")
    if title:
        link.attrs["title"] = title
    return [link, _text_token(alt or src), Token("link_close", "a", -1)]


def _resolve_references(env: _Env, inlines: list[Token]) -> None:
    """Mentions and thread links in document order: a link, or plain text past the caps or when unknown."""
    mention_urls: dict[str, str | None] = {}
    thread_urls: dict[int, str | None] = {}
    thread_links = 0
    for inline in inlines:
        children = inline.children or []
        if not any(t.type in ("copsite_mention", "copsite_thread") for t in children):
            continue
        out: list[Token] = []
        for token in children:
            url: str | None = None
            if token.type == "copsite_mention":
                name = token.content[1:].lower()
                if name not in mention_urls:
                    if len(env.mentions) >= MAX_MENTIONS:
                        out.append(_text_token(token.content))
                        continue
                    env.mentions.append(name)
                    mention_urls[name] = env.mention_url(name) if env.mention_url is not None else None
                url, css_class = mention_urls[name], "mention"
            elif token.type == "copsite_thread":
                number = int(token.content[1:])
                if number not in thread_urls:
                    if env.thread_url is None or thread_links >= MAX_THREAD_LINKS:
                        out.append(_text_token(token.content))
                        continue
                    thread_urls[number] = env.thread_url(number)
                url, css_class = thread_urls[number], "thread-link"
                if thread_links >= MAX_THREAD_LINKS:
                    url = None
                thread_links += bool(url)
            else:
                out.append(token)
                continue
            if url:
                link = Token("link_open", "a", 1)
                link.attrs = {"class": css_class, "href": url}
                out.extend((link, _text_token(token.content), Token("link_close", "a", -1)))
            else:
                out.append(_text_token(token.content))
        inline.children = out


def _parser() -> MarkdownIt:
    # Markdown only: typed HTML comes out as text. Links and the rest of the
    # policy still need the sanitizer, since markdown itself makes
    # javascript: links (also entity-encoded, also via references).
    md = MarkdownIt(
        "commonmark",
        {"html": False, "breaks": True, "xhtmlOut": False, "maxNesting": _MAX_NESTING},
    ).enable(["table", "strikethrough"])
    # Raw HTML is off and bare URLs have their own rule: two fewer rules tried at every character.
    md.disable(["html_inline", "html_block", "linkify"], ignoreInvalid=True)
    # Every URL becomes a link here; _finish applies our own policy (dropping
    # the href), rather than leaving "[x](javascript:…)" as literal text.
    md.validateLink = lambda url: True  # type: ignore[method-assign]  # markdown-it's documented hook
    md.block.ruler.before("table", "copsite_flatten", _flatten_deep)
    md.block.ruler.before(
        "fence", "copsite_quote", _quote_rule, {"alt": ["paragraph", "reference", "blockquote", "list"]}
    )
    md.inline.ruler.before("escape", "copsite_bare_url", _bare_url_rule)
    md.inline.ruler.before("escape", "copsite_mention", _mention_rule)
    md.inline.ruler.before("escape", "copsite_thread", _thread_rule)
    md.helpers = SimpleNamespace(  # type: ignore[assignment]  # per instance, not markdown_it.helpers itself
        parseLinkLabel=_parse_link_label,
        parseLinkDestination=_parse_link_destination,
        parseLinkTitle=helpers.parseLinkTitle,
    )
    _cap_delimiters(md)
    md.core.ruler.push("copsite_finish", _finish)
    md.add_render_rule("quote_source", _render_quote_source)
    md.add_render_rule("task_checkbox", _render_task_checkbox)
    return md


# Emphasis, strikethrough and code-span delimiters a text may open: each one is a
# token and a pass in markdown-it's pairing, so 20,000 characters of "*a" took
# ~95 ms. Past this many of a kind the character is plain text; a real post
# uses a few dozen.
_MAX_DELIMITERS = 1_000


def _capped(rule: Callable[[StateInline, bool], bool], markers: str, kind: str) -> Callable[[StateInline, bool], bool]:
    def capped(state: StateInline, silent: bool) -> bool:
        # The rule is tried at every character: leave the others at the first test.
        if state.src[state.pos] not in markers:
            return False
        used = state.env.get(kind, 0)
        if used >= _MAX_DELIMITERS or not rule(state, silent):
            return False
        state.env[kind] = used + 1
        return True

    return capped


def _cap_delimiters(md: MarkdownIt) -> None:
    for name, rule, markers in (
        ("emphasis", emphasis.tokenize, "*_"),
        ("strikethrough", strikethrough.tokenize, "~"),
        ("backticks", backticks.backtick, "`"),
    ):
        md.inline.ruler.at(name, _capped(rule, markers, f"copsite_{name}"))


# One parser for every call: markdown-it keeps per-document state in the
# state and env objects of each call, never in the parser.
_MD = _parser()


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
        elif tag == "img":
            self._write(dict(attrs).get("alt") or "")
        elif tag == "input":
            self._write("[x] " if "checked" in dict(attrs) else "[ ] ", raw=True)

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

# NUL and other C0 controls have no business in a post. Lone surrogates can't
# be encoded and would make nh3 raise.
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


_LIST_MARKER_RE = re.compile(r"( *)([-*+]|[0-9]{1,9}[.)])( +|$)")
_FENCE_RE = re.compile(r" {0,3}(```|~~~)")
_ORDERED_ITEM_RE = re.compile(r"^ {0,3}[0-9]{1,9}[.)] ", re.MULTILINE)


@dataclass
class _Item:
    indent: int  # as typed
    content: int  # as typed: where the item's text starts
    shift: int  # spaces added to the item and what belongs to it


def _nest_under_numbers(source: str) -> str:
    """Two spaces nest a list under a numbered item, as they do under a bullet.

    CommonMark nests under "1. " only from the item's text (three spaces);
    Discourse and GitHub users type two. A list marker indented at least two
    spaces past its parent item's marker but short of its text is moved to
    the text, and what is indented under it moves along. Lines inside fenced
    code are never read as list items.
    """
    if not _ORDERED_ITEM_RE.search(source):
        return source
    lines = source.split("\n")
    items: list[_Item] = []
    fence = ""
    for number, line in enumerate(lines):
        stripped = line.lstrip(" ")
        if not stripped:
            continue
        indent = len(line) - len(stripped)
        marker = None
        if fence:
            if stripped.startswith(fence):
                fence = ""
        elif (opening := _FENCE_RE.match(line)) is not None:
            fence = opening.group(1)
        else:
            marker = _LIST_MARKER_RE.match(line)
        # A marker's parent is the last item marked left of it; other lines belong to the items whose text they reach.
        while items and (indent <= items[-1].indent if marker else indent < items[-1].content):
            items.pop()
        shift = items[-1].shift if items else 0
        if marker is not None:
            if items and items[-1].indent + 2 <= indent < items[-1].content:
                shift += items[-1].content - indent
            spaces = len(marker.group(3))
            items.append(_Item(indent, indent + len(marker.group(2)) + (spaces if 1 <= spaces <= 4 else 1), shift))
        if shift:
            lines[number] = " " * shift + line
    return "\n".join(lines)


def _check_limits(source: str) -> None:
    if len(source) > MAX_SOURCE_CHARS:
        raise MarkupError(f"This text is too long ({len(source):,} characters); the limit is {MAX_SOURCE_CHARS:,}.")
    lines = source.count("\n") + (not source.endswith("\n"))
    if lines > MAX_LINES:
        raise MarkupError(
            f"This text has too many lines ({lines:,}); the limit is {MAX_LINES:,}. "
            "A long log or listing reads better as a PDF attached to the post."
        )


def render(source: str, *, mention_url: MentionURL | None = None, thread_url: ThreadURL | None = None) -> Rendered:
    """Markdown source → sanitized HTML, plain text and mentioned usernames.

    ``mention_url(username)`` gets a lower-cased name and returns the profile
    URL, or None for someone who shouldn't be linked; the names are reported
    in ``mentions`` either way. ``thread_url(number)`` does the same for
    "#123": a thread's URL, or None to leave the text as it is. Raises
    ``MarkupError`` (a ``ValueError`` with a message for the author) for
    input that is too long or has too many lines.
    """
    source = source.replace("\r\n", "\n").replace("\r", "\n")
    _check_limits(source)
    source = _nest_under_numbers(_CONTROL_RE.sub("", source))
    env = _Env(mention_url=mention_url, thread_url=thread_url, mentions=[])
    try:
        raw_html = _MD.render(source, {"copsite": env}).rstrip("\n")
    except RecursionError:
        # Deep containers are flattened (_flatten_deep); this is the last line of defence.
        raise MarkupError(
            "This text is nested too deeply (lists or quotes inside each other) to display. Please flatten it a little."
        ) from None
    clean_html = sanitize(raw_html)
    return Rendered(html=clean_html, text=_plain_text(clean_html), mentions=tuple(env.mentions))


def render_markdown(source: str) -> str:
    """Markdown source → sanitized HTML."""
    return render(source).html
