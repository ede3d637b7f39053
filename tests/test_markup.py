"""core.markup: markdown → safe HTML, plain text and mentions (docs/reliability.md, "Markup").

The safety checker below parses output the way a browser does (html5lib) and
knows nothing about how markup.py works: it has its own allowlist.
"""

from __future__ import annotations

import re
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor

import html5lib
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import markup
from core.markup import MAX_MENTIONS, MarkupError, Rendered, render, render_markdown, sanitize

REL = 'rel="nofollow ugc noopener"'
USERS = {"mira": "/u/mira/", "bob": "https://cop.example/u/bob/", "a.b-c_d+e": "/u/a.b-c_d+e/"}


def mention_url(name: str) -> str | None:
    return USERS.get(name)


# --- the checker ---------------------------------------------------------------

# No <h1>/<h2>: a post's headings start at <h3>, below the page's own.
SAFE_TAGS = {
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
    "img",
    "input",
}
SAFE_ATTRIBUTES = {
    "a": {"href", "title", "class", "rel"},
    "th": {"align"},
    "td": {"align"},
    "abbr": {"title"},
    "ol": {"start"},
    "code": {"class"},
    "img": {"src", "alt", "loading"},
    "input": {"type", "disabled", "checked"},
    "ul": {"class"},
    "li": {"class"},
    "blockquote": {"class"},
    "p": {"class"},
}
SAFE_CLASSES = {
    "a": {"mention", "thread-link", "image-link", "attachment-image"},
    "ul": {"contains-task-list"},
    "li": {"task-list-item"},
    "blockquote": {"quote"},
    "p": {"quote-source"},
}
# Site paths a post may link to: uploaded files, and post permalinks (quote attributions).
SITE_PATH_RE = re.compile(r"/attachments/[A-Za-z0-9_-]{16,64}/[A-Za-z0-9._-]{1,120}|/p/[0-9]+/")
THUMBNAIL_RE = re.compile(r"/attachments/[A-Za-z0-9_-]{16,64}/t/[A-Za-z0-9._-]{1,120}")
REQUIRED_REL = {"nofollow", "ugc", "noopener"}
_C0_AND_SPACE = "".join(chr(i) for i in range(0x21))


def browser_scheme(url: str) -> str | None:
    """The scheme a browser would see (WHATWG URL parsing: trim C0/space, drop tab/newline)."""
    url = re.sub(r"[\t\n\r]", "", url.strip(_C0_AND_SPACE))
    match = re.match(r"([A-Za-z][A-Za-z0-9+.\-]*):", url)
    return match.group(1).lower() if match else None


def _invisible(value: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf") for ch in value)


def _problems_in(tree) -> list[str]:
    problems = []
    for el in tree.iter():
        if el is tree:
            continue
        if not isinstance(el.tag, str):
            problems.append(f"comment or other node {el.tag!r}")
            continue
        tag = el.tag
        if tag not in SAFE_TAGS:
            problems.append(f"element <{tag}>")
            continue
        for name in el.attrib:
            lowered = name.lower()
            if lowered.startswith("on") or lowered == "style" or lowered.startswith(("hx-", "data-")):
                problems.append(f"attribute {name} on <{tag}>")
            if lowered not in SAFE_ATTRIBUTES.get(tag, set()):
                problems.append(f"attribute {name} not allowed on <{tag}>")
        classes = el.get("class", "").split()
        if tag == "code" and any(not c.startswith("language-") for c in classes):
            problems.append(f"class {classes} on <code>")
        elif tag != "code" and any(c not in SAFE_CLASSES.get(tag, set()) for c in classes):
            problems.append(f"class {classes} on <{tag}>")
        if tag == "input" and (el.get("type") != "checkbox" or el.get("disabled") is None):
            problems.append(f"<input> other than a disabled checkbox: {el.attrib}")
        if tag == "img" and el.get("loading", "lazy") != "lazy":
            problems.append(f"<img loading={el.get('loading')!r}>")
        href = el.get("href")
        if href is not None:
            scheme = browser_scheme(href)
            site_path = (
                {"mention", "thread-link"} & set(classes)
                and href.startswith("/")
                and not href.startswith(("//", "/\\"))
            ) or SITE_PATH_RE.fullmatch(href) is not None
            if _invisible(href):
                problems.append(f"invisible character in href {href!r}")
            elif not (href.startswith("#") or site_path or scheme in {"http", "https", "mailto"}):
                problems.append(f"href {href!r}")
            if not set(el.get("rel", "").split()) >= REQUIRED_REL:
                problems.append(f"<a href> without rel nofollow ugc noopener: {el.attrib}")
        src = el.get("src")
        # Only thumbnails of pictures uploaded here: a remote image would tell its host who reads the page.
        if src is not None and THUMBNAIL_RE.fullmatch(src) is None:
            problems.append(f"src {src!r}")
    return problems


def assert_safe_html(fragment: str) -> None:
    """No element, attribute or URL outside the allowlist, as parsed and after a serialize/re-parse round trip."""
    first = html5lib.parseFragment(fragment, treebuilder="etree", namespaceHTMLElements=False)
    again = html5lib.parseFragment(
        html5lib.serialize(first, tree="etree"), treebuilder="etree", namespaceHTMLElements=False
    )
    problems = _problems_in(first) + _problems_in(again)
    assert not problems, f"{fragment!r}: {problems}"


def test_the_checker_catches_what_it_should():
    for unsafe in [
        "<script>alert(1)</script>",
        '<a href="javascript:alert(1)" rel="nofollow ugc noopener">x</a>',
        '<a href=" javascript:alert(1)" rel="nofollow ugc noopener">x</a>',
        '<a href="/x" rel="nofollow ugc noopener">x</a>',
        '<a href="https://x.org">no rel</a>',
        '<img src="/a.png">',
        '<img src="data:image/png;base64,AAAA">',
        '<img src="/attachments/short/t/a.png">',
        '<img src="/attachments/abcdefghijklmnop/t/a.png" loading="eager">',
        '<input type="text">',
        '<input type="checkbox">',
        '<input type="checkbox" disabled onclick="x">',
        '<input type="hidden" disabled>',
        "<h1>page title</h1>",
        '<ul class="evil"><li>x</li></ul>',
        '<a href="/attachments/abcdefghijklmnop/../../admin/" rel="nofollow ugc noopener">x</a>',
        # A remote image tells its host who reads the page: posts have none.
        '<img src="https://tracker.example/p.gif" alt="x">',
        '<p onclick="x">a</p>',
        '<p style="x">a</p>',
        '<p hx-get="/x">a</p>',
        "<svg><a>x</a></svg>",
        "<p><!-- c --></p>",
        '<code class="evil">x</code>',
        '<a class="mention" href="//evil.example" rel="nofollow ugc noopener">x</a>',
    ]:
        with pytest.raises(AssertionError):
            assert_safe_html(unsafe)
    assert_safe_html('<p><a href="https://x.org" rel="nofollow ugc noopener">x</a></p>')
    assert_safe_html('<li class="task-list-item"><input type="checkbox" disabled="" checked=""> x</li>')
    assert_safe_html('<img src="/attachments/abcdefghijklmnop/t/a.png" alt="a" loading="lazy">')


# --- A-xss-exact ---------------------------------------------------------------------

EXACT = [
    ("**b**", "<p><strong>b</strong></p>"),
    ("*i* and _i_", "<p><em>i</em> and <em>i</em></p>"),
    # Headings start below the page's own <h1>/<h2>.
    ("# Title", "<h3>Title</h3>"),
    ("## Sub\n\n###### Deep", "<h4>Sub</h4>\n<h6>Deep</h6>"),
    ("[x](javascript:alert(1))", f"<p><a {REL}>x</a></p>"),
    ("[x](JaVaScRiPt:alert(1))", f"<p><a {REL}>x</a></p>"),
    ("[a](&#106;avascript:alert(1))", f"<p><a {REL}>a</a></p>"),
    ("[a](javascript&#58;alert(1))", f"<p><a {REL}>a</a></p>"),
    ("[a][x]\n\n[x]: javascript:alert(1)", f"<p><a {REL}>a</a></p>"),
    ("[a](data:text/html,<script>alert(1)</script>)", f"<p><a {REL}>a</a></p>"),
    ("[a](/relative/page)", f"<p><a {REL}>a</a></p>"),
    ("[a](//evil.example)", f"<p><a {REL}>a</a></p>"),
    ("[a](#notes)", f'<p><a href="#notes" {REL}>a</a></p>'),
    ("<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"),
    ('<img src=x onerror="alert(1)">', '<p>&lt;img src=x onerror="alert(1)"&gt;</p>'),
    ("<!-- hidden -->", "<p>&lt;!-- hidden --&gt;</p>"),
    (
        "| a | b | c |\n|:--|:-:|--:|\n| 1 | 2 | 3 |",
        "<table>\n<thead>\n<tr>\n"
        '<th align="left">a</th>\n<th align="center">b</th>\n<th align="right">c</th>\n'
        "</tr>\n</thead>\n<tbody>\n<tr>\n"
        '<td align="left">1</td>\n<td align="center">2</td>\n<td align="right">3</td>\n'
        "</tr>\n</tbody>\n</table>",
    ),
    ("https://example.org", f'<p><a href="https://example.org" {REL}>https://example.org</a></p>'),
    (
        "see https://example.org/a_b_c.",
        f'<p>see <a href="https://example.org/a_b_c" {REL}>https://example.org/a_b_c</a>.</p>',
    ),
    ("(https://x.org/(a))", f'<p>(<a href="https://x.org/(a)" {REL}>https://x.org/(a)</a>)</p>'),
    (
        "<https://example.org/?a=1&b=2>",
        f'<p><a href="https://example.org/?a=1&amp;b=2" {REL}>https://example.org/?a=1&amp;b=2</a></p>',
    ),
    ("`https://example.org`", "<p><code>https://example.org</code></p>"),
    ("[mail](mailto:mira@example.org)", f'<p><a href="mailto:mira@example.org" {REL}>mail</a></p>'),
    ("<mira@example.org>", f'<p><a href="mailto:mira@example.org" {REL}>mira@example.org</a></p>'),
    # Images become links to them, labelled with the alt text (or the address).
    (
        "![x](https://tracker.example/p.gif)",
        f'<p><a class="image-link" href="https://tracker.example/p.gif" {REL}>x</a></p>',
    ),
    ("![i](http://x.example/a.png)", f'<p><a class="image-link" href="http://x.example/a.png" {REL}>i</a></p>'),
    (
        "![](https://x.example/a.png)",
        f'<p><a class="image-link" href="https://x.example/a.png" {REL}>https://x.example/a.png</a></p>',
    ),
    # CommonMark drops the backslashes; what matters is that the quote stays inside the attribute.
    (
        '![i](https://x.example/a.png "a \\"title\\"")',
        f'<p><a class="image-link" href="https://x.example/a.png" title="a &quot;title&quot;" {REL}>i</a></p>',
    ),
    (
        "![<b>](https://x.example/a.png)",
        f'<p><a class="image-link" href="https://x.example/a.png" {REL}>&lt;b&gt;</a></p>',
    ),
    # Links don't nest: a linked image (a badge) leaves its alt text inside the link.
    ("[![badge](https://x.example/b.svg)](https://x.example)", f'<p><a href="https://x.example" {REL}>badge</a></p>'),
    ("[![](https://x.example/b.svg)](https://x.example)", f'<p><a href="https://x.example" {REL}>image</a></p>'),
    ("![i](javascript:x)", "<p>i</p>"),
    ("![i](/relative.png)", "<p>i</p>"),
    ("![i](data:image/png;base64,AAAA)", "<p>i</p>"),
    ("![i](mailto:a@b.org)", "<p>i</p>"),
    ("```python\nx = 1\n```", '<pre><code class="language-python">x = 1\n</code></pre>'),
    ("```Python\nx = 1\n```", '<pre><code class="language-python">x = 1\n</code></pre>'),
    ("```evil\nx\n```", "<pre><code>x\n</code></pre>"),
    # An attribute list is not a language: no class at all.
    ("``` { .python .evil #i onclick=x }\nx\n```", "<pre><code>x\n</code></pre>"),
    ("    <b>indented</b>", "<pre><code>&lt;b&gt;indented&lt;/b&gt;\n</code></pre>"),
    ("3. c\n4. d", '<ol start="3">\n<li>c</li>\n<li>d</li>\n</ol>'),
    ("> quoted", "<blockquote>\n<p>quoted</p>\n</blockquote>"),
    ("a  \nb", "<p>a<br>\nb</p>"),
    ("---", "<hr>"),
    ("a &amp; b &copy; &#x3C;", "<p>a &amp; b © &lt;</p>"),
    ("a{@onclick=x}", "<p>a{@onclick=x}</p>"),
    ("hi @mira", f'<p>hi <a class="mention" href="/u/mira/" {REL}>@mira</a></p>'),
    ("@Mira.", f'<p><a class="mention" href="/u/mira/" {REL}>@Mira</a>.</p>'),
    ("@nobody here", "<p>@nobody here</p>"),
    ("`@mira`", "<p><code>@mira</code></p>"),
    ("```\n@mira\n```", "<pre><code>@mira\n</code></pre>"),
    ("a@b.org", "<p>a@b.org</p>"),
    ("[@mira](https://x.org)", f'<p><a href="https://x.org" {REL}>@mira</a></p>'),
]


@pytest.mark.parametrize(("source", "expected"), EXACT, ids=[s for s, _ in EXACT])
def test_exact_output(source, expected):
    html = render(source, mention_url=mention_url).html
    assert html == expected
    assert_safe_html(html)


def test_there_are_at_least_twenty_exact_pairs():
    assert len(EXACT) >= 20


# --- A-xss-corpus ---------------------------------------------------------------------

_JS = "javascript:alert(1)"
CORPUS = [
    # raw tags typed by an author
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</script>",
    "<script\n>alert(1)</script\n>",
    "<style>body{display:none}</style>",
    "<iframe src=javascript:alert(1)></iframe>",
    "<iframe srcdoc='<script>alert(1)</script>'>",
    "<object data=javascript:alert(1)>",
    "<embed src=javascript:alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<svg><a xlink:href='javascript:alert(1)'><text>x</text></a></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<math href=javascript:alert(1)>x</math>",
    "<img src=x onerror=alert(1)>",
    "<IMG SRC=JaVaScRiPt:alert(1)>",
    "<img src=`javascript:alert(1)`>",
    '<img """><script>alert(1)</script>">',
    "<body onload=alert(1)>",
    "<div style='background:url(javascript:alert(1))'>x</div>",
    "<p style=color:red>x</p>",
    "<a href=javascript:alert(1)>x</a>",
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    "<a href='https://ok.example' onclick='alert(1)'>x</a>",
    "<a hx-get='/admin' hx-trigger='load'>x</a>",
    "<div hx-post='/logout' hx-trigger='load'></div>",
    "<p data-x='1' data-hx-get='/x'>x</p>",
    "<form action=javascript:alert(1)><button>x</button></form>",
    "<input autofocus onfocus=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<video><source onerror=alert(1)></video>",
    "<audio src=x onerror=alert(1)>",
    "<marquee onstart=alert(1)>",
    "<base href=javascript:alert(1)//>",
    "<meta http-equiv=refresh content='0;url=javascript:alert(1)'>",
    "<link rel=stylesheet href=//evil.example/x.css>",
    "<template><script>alert(1)</script></template>",
    "<noscript><p title='</noscript><img src=x onerror=alert(1)>'>",
    "<textarea></textarea><script>alert(1)</script>",
    "<title></title><script>alert(1)</script>",
    "<plaintext><script>alert(1)",
    "<xmp><script>alert(1)</script></xmp>",
    "<!--<script>alert(1)</script>-->",
    "<!--> <script>alert(1)</script> -->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "<?xml version='1.0'?><script>alert(1)</script>",
    "<script>alert(1)",
    "<img src=x onerror=alert(1)",
    "<a href='javascript:alert(1)'",
    "</p><script>alert(1)</script><p>",
    "<div>\n\n<script>alert(1)</script>\n\n</div>",
    "<div markdown=1>[x](javascript:alert(1))</div>",
    # markdown links with hostile schemes
    "[x](javascript:alert(1))",
    "[x](JAVASCRIPT:alert(1))",
    "[x]( javascript:alert(1) )",
    "[x](<javascript:alert(1)>)",
    "[x](javascript&#58;alert(1))",
    "[x](javascript&colon;alert(1))",
    "[x](&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1))",
    "[x](&#x6A;avascript:alert(1))",
    "[x](&#0000106avascript:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](java%0ascript:alert(1))",
    "[x](javascript\u200b:alert(1))",
    "[x](\u200bjavascript:alert(1))",
    "[x](java\u00adscript:alert(1))",
    "[x](javascript\u2028:alert(1))",
    "[x](\x01javascript:alert(1))",
    "[x](\x00javascript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](DATA:text/html,<script>alert(1)</script>)",
    "[x](file:///etc/passwd)",
    "[x](ftp://evil.example/)",
    "[x](//evil.example)",
    "[x](/\\evil.example)",
    "[x](\\\\evil.example)",
    "[x](https:evil.example)",
    "[x](javascript://%0aalert(1))",
    '[x](javascript:alert(1) "title")',
    '[x](https://ok.example "title" onclick="alert(1)")',
    '[x](https://ok.example "a\\" onmouseover=\\"alert(1)")',
    "[x](https://ok.example 'x\" onclick=alert(1) y=\"')",
    '[x](https://ok.example" onclick="alert(1))',
    "[x](https://ok.example><script>alert(1)</script>)",
    "[x][r]\n\n[r]: javascript:alert(1)",
    "[x][r]\n\n[r]: &#106;avascript:alert(1) 'title'",
    "[r]\n\n[r]: <javascript:alert(1)>",
    "[x][R]\n\n[r]: vbscript:alert(1)",
    "[![img](javascript:alert(1))](javascript:alert(2))",
    "[<script>alert(1)</script>](https://ok.example)",
    "[**x**](javascript:alert(1))",
    "[x](javascript:alert(1)\n)",
    # images
    "![x](javascript:alert(1))",
    "![x](data:image/svg+xml,<svg onload=alert(1)>)",
    "![x](/logout)",
    "![x](//evil.example/a.png)",
    "![x](mailto:a@b.org)",
    '![x" onerror="alert(1)](https://ok.example/a.png)',
    '![x](https://ok.example/a.png "t\\" onerror=\\"alert(1)")',
    "![x](https://ok.example/a.png 'a\" onerror=alert(1) x=\"')",
    "![x][i]\n\n[i]: javascript:alert(1)",
    "![x](https://ok.example/a.png\u200b)",
    # autolinks
    "<javascript:alert(1)>",
    "<JAVASCRIPT:alert(1)>",
    '<https://ok.example/"onmouseover="alert(1)>',
    "<https://ok.example/'><script>alert(1)</script>>",
    '<mailto:a@b.org?x="><script>alert(1)</script>>',
    '<a@b.org"onclick=alert(1)>',
    'https://ok.example/"onmouseover="alert(1)',
    "https://ok.example/<script>alert(1)</script>",
    "javascript:alert(1)",
    "https://ok.example/@mira",
    # code fences and attributes
    '```javascript" onclick="alert(1)\n<script>alert(1)</script>\n```',
    "``` {#x .python onclick=alert(1) style=color:red}\nx\n```",
    '```{.x" onclick="alert(1)}\nx\n```',
    "`<script>alert(1)</script>`",
    "    <script>alert(1)</script>",
    "~~~html\n<iframe src=javascript:alert(1)>\n~~~",
    # attribute-list and html-in-markdown syntaxes we don't enable
    "para {: onclick=alert(1) }",
    "# Title {#x onclick=alert(1)}",
    "<div markdown='1'>\n**x**\n</div>",
    "*[HTML]: <script>alert(1)</script>\n\nHTML",
    # tables
    "| a |\n|---|\n| <script>alert(1)</script> |",
    "| [x](javascript:alert(1)) |\n|:-:|\n| b |",
    # entities, mixed escapes, odd characters
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "\\<script>alert(1)\\</script>",
    "<scr\u200bipt>alert(1)</scr\u200bipt>",
    "\x02wzxhzdk:0\x03<script>alert(1)</script>",
    "\x02klzzwxh:0\x03",
    "\ufeff<script>alert(1)</script>",
    "\u202e<script>alert(1)</script>",
    "@<script>alert(1)</script>",
    "@mira<script>alert(1)</script>",
    "**<img src=x onerror=alert(1)>**",
    "> <script>alert(1)</script>",
    "- <iframe src=javascript:alert(1)>",
    "1. [x](javascript:alert(1))\n2. ![y](javascript:alert(2))",
]

# Each scheme trick again through every way markdown makes a URL.
_SCHEME_TRICKS = [
    _JS,
    "JavaScript:alert(1)",
    "&#106;avascript:alert(1)",
    "javascript&#x3A;alert(1)",
    "vbscript:x",
    "data:text/html,x",
]
CORPUS += [f"[x]({t})" for t in _SCHEME_TRICKS]
CORPUS += [f"![x]({t})" for t in _SCHEME_TRICKS]
CORPUS += [f"[x][r]\n\n[r]: {t}" for t in _SCHEME_TRICKS]
CORPUS += [f"<{t}>" for t in _SCHEME_TRICKS]


def test_corpus_has_at_least_a_hundred_vectors():
    assert len(CORPUS) >= 100


@pytest.mark.parametrize("source", CORPUS)
def test_hostile_markdown_renders_to_safe_html(source):
    rendered = render(source, mention_url=mention_url)
    assert_safe_html(rendered.html)


@pytest.mark.parametrize("source", CORPUS)
def test_the_sanitizer_alone_makes_hostile_html_safe(source):
    # Layer two on its own, as if the markdown layer had let raw HTML through.
    assert_safe_html(sanitize(source))


def test_sanitizer_drops_urls_with_invisible_characters():
    assert sanitize('<a href="javascript\u200b:alert(1)">x</a>') == f"<a {REL}>x</a>"
    assert sanitize('<a href="https://ok.example/\u00ad">x</a>') == f"<a {REL}>x</a>"


def test_sanitizer_allows_no_attribute_on_every_tag():
    # ammonia's defaults would keep title and lang anywhere.
    assert sanitize('<p title="x" lang="en" dir="rtl">y</p>') == "<p>y</p>"
    assert sanitize('<a><td title="x">y</td></a>') == f"<a {REL}>y</a>"


def test_sanitizer_keeps_only_listed_classes():
    # Also guards the config: listing "class" in attributes next to allowed_classes
    # makes nh3 0.3.7 raise PanicException (a BaseException) here, at clean time.
    assert sanitize('<code class="language-python evil">x</code>') == '<code class="language-python">x</code>'
    assert sanitize('<code class="evil">x</code>') == "<code>x</code>"
    assert sanitize('<a class="mention btn" href="/u/x/">x</a>') == f'<a class="mention" href="/u/x/" {REL}>x</a>'


# --- mentions -----------------------------------------------------------------------


def test_mentions_are_lowercased_deduplicated_and_in_order():
    rendered = render("@Bob and @mira, then @BOB again; @mira. @zed", mention_url=mention_url)
    assert rendered.mentions == ("bob", "mira", "zed")


def test_mentions_are_found_without_a_url_callable():
    assert render("thanks @mira!").mentions == ("mira",)
    assert render("thanks @mira!").html == "<p>thanks @mira!</p>"


def test_mentions_skip_code_links_and_email_addresses():
    source = "`@a` [@b](https://x.org) <https://x.org/@c> a@d.org https://x.org/@e\n\n```\n@f\n```\n\n    @g"
    assert render(source, mention_url=mention_url).mentions == ()


def test_mention_names_take_the_allowed_characters_but_not_a_trailing_dot():
    rendered = render("@a.b-c_d+e. hi", mention_url=mention_url)
    assert rendered.mentions == ("a.b-c_d+e",)
    assert rendered.html == f'<p><a class="mention" href="/u/a.b-c_d+e/" {REL}>@a.b-c_d+e</a>. hi</p>'


def test_mention_url_is_asked_once_per_name_with_the_lowercased_name():
    asked = []

    def lookup(name):
        asked.append(name)
        return None

    render("@Mira @mira @MIRA @bob", mention_url=lookup)
    assert asked == ["mira", "bob"]


def test_mentions_are_capped_and_extra_ones_stay_text():
    names = [f"user{i}" for i in range(MAX_MENTIONS + 5)]
    rendered = render(" ".join(f"@{n}" for n in names) + " @user0", mention_url=lambda n: f"/u/{n}/")
    assert rendered.mentions == tuple(names[:MAX_MENTIONS])
    assert rendered.html.count('class="mention"') == MAX_MENTIONS + 1
    assert f"@{names[MAX_MENTIONS]} " in rendered.html


def test_mention_longer_than_a_username_is_text():
    assert render("@" + "a" * 151).mentions == ()
    assert render("@" + "a" * 150).mentions == ("a" * 150,)


# --- plain text ----------------------------------------------------------------------


def test_text_keeps_words_and_drops_markup():
    source = (
        "# Heading\n\n"
        "Some **bold** text with a [link](https://example.org) & `code`.\n\n"
        "- one\n- two\n\n"
        "1. first\n2. second\n\n"
        "```\ndef f():\n    return 1\n```\n\n"
        "> quoted\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |"
    )
    assert render(source).text == (
        "Heading\n\n"
        "Some bold text with a link (https://example.org) & code.\n\n"
        "- one\n- two\n\n"
        "1. first\n2. second\n\n"
        "def f():\n    return 1\n\n"
        "quoted\n\n"
        "a | b\n1 | 2"
    )


def test_text_unescapes_entities_and_keeps_link_text():
    rendered = render("Fish &amp; chips &lt;3 — [the menu](https://x.org/menu?a=1&b=2)")
    assert rendered.text == "Fish & chips <3 — the menu (https://x.org/menu?a=1&b=2)"


def test_text_collapses_whitespace_and_separates_paragraphs():
    # A single newline is a line break.
    assert render("a   b\nc\n\n\n\nd  \ne").text == "a b\nc\n\nd\ne"


def test_text_of_autolinks_and_mentions_is_not_repeated():
    assert render("see https://x.org and @mira", mention_url=mention_url).text == "see https://x.org and @mira"


def test_text_has_no_tags():
    rendered = render("**a** *b* [c](https://x.org) ![d](https://x.org/d.png)\n\n## e\n\n- f")
    assert "<" not in rendered.text and ">" not in rendered.text


# --- entry points and limits ------------------------------------------------------------


def test_render_markdown_is_render_html():
    assert render_markdown("**x** @mira") == render("**x** @mira").html


def test_empty_source():
    assert render("") == Rendered(html="", text="", mentions=())
    assert render(" \n\t\n") == Rendered(html="", text="", mentions=())


def test_control_characters_and_lone_surrogates_are_dropped():
    assert render("a\x00b\x07c\ud800d").html == "<p>abcd</p>"


def test_markup_error_is_a_value_error_with_a_readable_message():
    with pytest.raises(ValueError, match="too long"):
        render("a" * (markup.MAX_SOURCE_CHARS + 1))
    with pytest.raises(MarkupError, match="too long"):
        render("-\r" * (markup.MAX_SOURCE_CHARS // 2 + 1))


def test_limits_themselves_are_allowed():
    # Brackets need no limit of their own with a linear parser; lines have one (each block costs).
    render("a" * markup.MAX_SOURCE_CHARS)
    render("[" * markup.MAX_SOURCE_CHARS)
    render("a\n" * markup.MAX_LINES)
    render("a\r\n" * markup.MAX_LINES)
    with pytest.raises(markup.MarkupError, match="too many lines"):
        render("a\r\n" * (markup.MAX_LINES + 1))


def test_deep_nesting_is_flattened_not_an_error():
    for source in ("1. " * 500 + "x", "> " * 1000 + "x", "- " * 1000 + "x"):
        rendered = render(source)
        assert rendered.text.endswith("x")
        tree = html5lib.parseFragment(rendered.html, treebuilder="etree", namespaceHTMLElements=False)
        depth = max(len([a for a in el.iter() if a.tag in ("ol", "ul", "blockquote")]) for el in tree)
        assert depth <= 16


def test_long_link_text_targets_and_nested_brackets_still_link():
    text = "t" * 900
    target = "https://x.org/" + "p" * 900
    assert render(f"[{text}]({target})").html == f'<p><a href="{target}" {REL}>{text}</a></p>'
    assert render("[a [b [c] d] e](https://x.org)").html == f'<p><a href="https://x.org" {REL}>a [b [c] d] e</a></p>'
    assert render("[x][r]\n\n[r]: https://x.org").html == f'<p><a href="https://x.org" {REL}>x</a></p>'
    assert (
        render("![a [b]](https://x.org/i.png)").html
        == f'<p><a class="image-link" href="https://x.org/i.png" {REL}>a [b]</a></p>'
    )


def test_rendering_is_thread_safe():
    sources = [f"**{i}** @mira @user{i} [l](https://x.org/{i}) `c{i}`" for i in range(40)]
    expected = [render(s, mention_url=mention_url) for s in sources]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda s: render(s, mention_url=mention_url), sources * 5))
    assert results == expected * 5


# --- A-markdown-dos ---------------------------------------------------------------------

DOS = [
    ("[*8000", "[" * 8000, "ok"),
    ("[*50000", "[" * 50000, "error"),
    ("[a](*20000", "[a](" * 20000, "error"),
    ("[a *300", "[a " * 300, "ok"),
    ("x [ *1000", "x [ " * 1000, "ok"),
    ("[ *1000 in 20k", "[ " * 1000 + "] " * 9000, "ok"),
    ("unclosed [ spread over 20k", "@miras:https://http://[" * 869, "ok"),
    ("[a]( *1000 + padding", ("[a](<" * 1000 + "x" * 20000)[:20000], "ok"),
    ("![a]( *1000 + padding", ("![a](" * 1000 + "y" * 20000)[:20000], "ok"),
    ("500-deep nested list", "\n".join("    " * i + "- a" for i in range(500)), "error"),
    ("500-deep lazy list", "1. " * 500 + "x", "ok"),
    ("1. *5000", "1. " * 5000, "ok"),
    ("100-deep nested list", "\n".join("    " * i + "- a" for i in range(99)), "ok"),
    ("> *10000", "> " * 9999, "either"),
    ("1 MB", "a" * 1_000_000, "error"),
    ("*a *10000", "*a" * 10_000, "either"),
    ("** *5000", "**" * 5000, "either"),
    ("`a *10000", "`a" * 10_000, "either"),
    ("@a *6000", "@a " * 6000, "either"),
    ("urls", "https://a.example " * 1000, "either"),
    ("-\\n *10000", "-\n" * 10_000, "error"),
    ("-\\r *10000", "-\r" * 10_000, "error"),
    ("=\\n *1999", "=\n" * 1999, "error"),
    ("a\\n-\\n *999", "a\n-\n" * 999, "error"),
    ("```\\n *1999", "```\n" * 1999, "error"),
    ("```\\ *5000 (unpaired code spans)", "```\\" * 5000, "ok"),
    ("``\\ *6666", ("``\\" * 6667)[:20000], "ok"),
    ("`a` ``b *2500", "`a` ``b " * 2500, "ok"),
    (")\\\\ *10000", ")\\" * 10_000, "either"),
]


@pytest.mark.parametrize(("source", "expect"), [(s, e) for _, s, e in DOS], ids=[i for i, _, _ in DOS])
def test_hostile_sizes_render_or_fail_cleanly_within_two_seconds(source, expect):
    started = time.monotonic()
    try:
        rendered = render(source, mention_url=mention_url)
    except MarkupError as e:
        rendered = None
        assert str(e)
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, f"took {elapsed:.2f} s"
    if expect != "either":
        assert ("error" if rendered is None else "ok") == expect
    if rendered is not None:
        assert_safe_html(rendered.html)


# --- properties -------------------------------------------------------------------------

MARKDOWNISH = st.text(
    alphabet=st.sampled_from(list("[]()<>!*_`#@:/\\\"'=-\n ajsvcrpt&;.")) | st.characters(),
    max_size=400,
)
TOKENS = st.lists(
    st.sampled_from(
        [
            "[",
            "]",
            "(",
            ")",
            "![",
            "](",
            "<",
            ">",
            "`",
            "```",
            "\n",
            "\n\n",
            "    ",
            "- ",
            "1. ",
            "> ",
            "| a |",
            "|---|",
            "**",
            "_",
            "@mira",
            "@bob.",
            "a@b.org",
            "https://x.org/",
            "javascript:",
            "&#106;",
            "&#x3A;",
            "\u200b",
            "\x00",
            "<script>",
            "</script>",
            "<img src=x onerror=alert(1)>",
            '"',
            "'",
            "[r]: ",
            "mailto:",
            "data:",
            "text",
            "#",
            "{: onclick=x}",
        ]
    ),
    max_size=60,
).map("".join)


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(MARKDOWNISH, TOKENS))
def test_any_text_renders_to_safe_stable_idempotent_html(source):
    try:
        first = render(source, mention_url=mention_url)
    except MarkupError:
        return
    assert_safe_html(first.html)
    assert render(source, mention_url=mention_url) == first
    assert sanitize(first.html) == first.html
    assert len(first.mentions) <= MAX_MENTIONS
    assert len(set(first.mentions)) == len(first.mentions)
    assert all(m == m.lower() for m in first.mentions)
    if "<" not in source and "&" not in source:
        assert "<" not in first.text


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(CORPUS), min_size=2, max_size=4), st.sampled_from(["", " ", "\n", "\n\n", "> ", "- "]))
def test_combined_hostile_inputs_stay_safe(parts, separator):
    source = separator.join(parts)
    try:
        rendered = render(source, mention_url=mention_url)
    except MarkupError:
        pass
    else:
        assert_safe_html(rendered.html)
        assert sanitize(rendered.html) == rendered.html
    assert_safe_html(sanitize(source))


# Any code point at all, lone surrogates and controls included (st.characters() leaves
# surrogates out by default), in sizes up to past MAX_SOURCE_CHARS.
ANY_TEXT = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=300) | st.builds(
    lambda unit, n: unit * n, st.text(max_size=8), st.integers(min_value=0, max_value=3_000)
)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(ANY_TEXT)
def test_any_text_at_all_renders_or_gives_a_markup_error(source):
    try:
        first = render(source, mention_url=mention_url)
    except MarkupError as e:
        assert str(e)
        return
    assert sanitize(first.html) == first.html  # within the sanitizer's own allowlist
    assert_safe_html(first.html)  # and the independent checker's
    assert render(source, mention_url=mention_url) == first
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]", first.html + first.text)


# Words and the characters of HTML, SQL, template and format syntax, none of which markdown
# gives a meaning to in the middle of a line.
PLAIN = st.text(alphabet=st.sampled_from(list("abcXYZ <>\"'{}%=/()$;?,")), min_size=1, max_size=120)


@settings(max_examples=150, deadline=None, database=None)
@given(PLAIN)
def test_text_without_markdown_syntax_is_shown_literally(words):
    source = "a " + words
    rendered = render(source)
    assert rendered.text == " ".join(source.split())
    tree = html5lib.parseFragment(rendered.html, treebuilder="etree", namespaceHTMLElements=False)
    assert [el.tag for el in tree.iter() if el is not tree] == ["p"]
    assert " ".join("".join(tree.itertext()).split()) == " ".join(source.split())
