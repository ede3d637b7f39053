"""What the welcome needs from the apps above ``communities``.

A community's welcome (communities/views/welcome.py) names its introductions
thread and lists the resources pinned to "Start here"; threads and resources
live above this app, so they answer through this registry (filled in their
``AppConfig.ready()``) and through the "welcome" slot of ``communities.panels``.
"""

from __future__ import annotations

from collections.abc import Callable

from communities.models import Community

# community → its threads a facilitator may choose for introductions: (id, title), newest activity first.
ThreadChoices = Callable[[Community], list[tuple[int, str]]]
_thread_choices: list[ThreadChoices] = []


def register_thread_choices(provider: ThreadChoices) -> ThreadChoices:
    if provider not in _thread_choices:
        _thread_choices.append(provider)
    return provider


def thread_choices(community: Community) -> list[tuple[int, str]]:
    """The threads of ``community`` (and of no other) that may be its introductions thread."""
    return [choice for provider in _thread_choices for choice in provider(community)]
