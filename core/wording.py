"""The site's words for coming and going: "Log in", "Sign up", "Log out", in sentence case.

copsite's own templates say them that way. allauth's pages, messages and
mails say "Sign In", "Sign Up", "Sign Out", "Signup", "sign in"… With
translation off (settings: ``USE_I18N = False``, for speed) no catalogue can
reword them, so the few phrases are reworded where allauth's text enters the
site: its pages at the layout bridge (core/templatetags/site_layout.py), its
messages and its mails in the account adapter (accounts/adapter.py).
tests/test_wording.py crawls the pages and mails for the other spellings.
"""

from __future__ import annotations

import re

from django.utils.safestring import SafeString, mark_safe

# allauth's phrase → ours. Whole words only, case as written ("Sign In" in a
# heading and "sign in" in a sentence are different entries).
HOUSE_WORDS = {
    "Sign In": "Log in",
    "Sign in": "Log in",
    "sign in": "log in",
    "Sign-In": "Login",
    "Sign-in": "Login",
    "sign-in": "login",
    "Log In": "Log in",
    "Sign Up": "Sign up",
    "Signup": "Sign up",
    "signup": "sign-up",  # the noun, as in "the sign-up process"
    "Sign Out": "Log out",
    "Sign out": "Log out",
    "sign out": "log out",
    "Log Out": "Log out",
    "signed in": "logged in",
    "Signed in": "Logged in",
    "signed out": "logged out",
    "Signed out": "Logged out",
}
# Never part of an address: "/accounts/signup/" and "signup.example.org" stay as they are.
_PHRASE = re.compile(
    r"(?<![/\w.-])(?:"
    + "|".join(re.escape(p) for p in sorted(HOUSE_WORDS, key=len, reverse=True))
    + r")(?![/\w-]|\.\w)"
)
# A tag, a comment, or a script or style element whole: their text is not the page's words.
_NOT_TEXT = re.compile(r"(<script\b.*?</script>|<style\b.*?</style>|<!--.*?-->|<[^>]*>)", re.DOTALL | re.IGNORECASE)


def house_words(text: str) -> str:
    """``text`` with allauth's phrases in the site's words (plain text: a subject, a mail, a message)."""
    return _PHRASE.sub(lambda match: HOUSE_WORDS[match.group(0)], text)


def house_words_html(html: str) -> SafeString:
    """The same for an HTML fragment, in its text only: tags, attributes (a typed value), scripts untouched."""
    parts = _NOT_TEXT.split(html)
    parts[::2] = [house_words(part) for part in parts[::2]]
    return mark_safe("".join(parts))  # noqa: S308 - only words of already escaped text were replaced, by plain words
