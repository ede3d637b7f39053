"""An email's own words: the body part read, HTML made into text, quoted history and signature cut off.

Quoted history and signatures are found by ``mail-parser-reply`` (its "On … wrote:"
lines in many languages, "-- " and "Sent from my …" signatures). It trims every
line; the lines it keeps are taken back from the mail as written, so indented
text (code) keeps its indentation.
"""

from __future__ import annotations

import re
from email.message import EmailMessage

import html2text
from mailparser_reply.parser import EmailMessage as ParsedReply

# The languages whose "On … wrote:" and signature lines are recognized (all the parser knows).
LANGUAGES = ["en", "de", "fr", "es", "it", "nl", "sv", "da", "pl", "cs", "ja", "zh", "ko"]
# Markdown that would start a block where a person meant text: headings, rules, lists, quotes, HTML.
_MARKDOWN_LEAD = re.compile(r"^(\s*)([#>+=|<]|[-*_]{3,}\s*$|\d+[.)]\s)", re.MULTILINE)


_HTML2TEXT_ESCAPE = re.compile(r"^\\(?=[-+=])", re.MULTILINE)
_TRAILING_SPACE = re.compile(r"[ \t]+$", re.MULTILINE)
_BLANK_RUN = re.compile(r"\n{3,}")


def body_text(message: EmailMessage) -> str:
    """The text a person wrote: text/plain as is; HTML-only mail made into plain, Markdown-safe text."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeDecodeError):
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload)
    if not isinstance(content, str):
        return ""
    if part.get_content_subtype() == "html":
        return html_to_text(content)
    return content.replace("\r\n", "\n")


def html_to_text(html: str) -> str:
    """Paragraphs kept, links as Markdown links (sanitized as any post's); pictures, styles and tags dropped."""
    converter = html2text.HTML2Text()
    converter.body_width = 0
    converter.ignore_images = True
    converter.ignore_emphasis = True
    converter.ignore_tables = True
    converter.inline_links = True
    converter.protect_links = False
    converter.escape_snob = False
    converter.unicode_snob = True
    converter.mark_code = False
    text = converter.handle(html).replace("\r\n", "\n")
    # Quoted history in HTML mail arrives as blockquote: html2text writes it as "> " lines, which
    # the reply parser then cuts. A phone client's "-------- Original message --------" divider
    # must reach the parser as written: html2text's escape of a leading "-", "+" or "=" goes here
    # (markdown_safe escapes what needs it once the quotes are cut), and so do the empty lines
    # its <div>s leave.
    text = _HTML2TEXT_ESCAPE.sub("", text)
    text = _TRAILING_SPACE.sub("", text)
    return _BLANK_RUN.sub("\n\n", text).strip()


def without_quotes(text: str) -> str:
    """The newest reply in ``text``: quoted history, its "On … wrote:" line and the signature cut off."""
    parsed = ParsedReply(text=text, languages=list(LANGUAGES), keep_hyphen_lists=True).read()
    if not parsed.replies:
        return ""
    kept = parsed.replies[0].body
    # Nothing but quoted lines (a mail that only forwards what it answers) says nothing of its own.
    if all(line.lstrip().startswith(">") for line in kept.splitlines() if line.strip()):
        return ""
    return _as_written(text, kept)


def _as_written(original: str, kept: str) -> str:
    """The lines of ``kept`` (trimmed by the parser) as they were in ``original``; ``kept`` if they can't be matched."""
    lines = original.replace("\r\n", "\n").split("\n")
    out: list[str] = []
    at = 0
    for wanted in kept.split("\n"):
        while at < len(lines) and lines[at].strip() != wanted:
            if wanted == "" and not lines[at].strip():
                break
            at += 1
        if at >= len(lines):
            return kept
        out.append(lines[at].rstrip())
        at += 1
    return "\n".join(out).strip("\n")


def markdown_safe(text: str) -> str:
    """Escape what would start Markdown structure at the beginning of a line (text converted from HTML)."""
    return _MARKDOWN_LEAD.sub(lambda m: m.group(1) + "\\" + m.group(2), text)
