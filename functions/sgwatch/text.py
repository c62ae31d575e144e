"""The one cleaner for text a user or a third party controls, wherever it is rendered.

Group names and ids, rule fields, tag values, error codes, user agents, path names and
owner tags end up in mail bodies, SNS subjects and Slack messages whose lines a reader
trusts (``Severity: ...``). :func:`clean` makes any such value one line of printable text,
so a crafted value cannot add a line of its own; :func:`ascii_line` is the same for places
that take ASCII only (the SNS subject). Escaping for a markup (Slack mrkdwn, HTML) is a
separate, later step; CSV cells go through :func:`sgwatch.csvio.neutralise` instead.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

_BREAK = "\x00"
_BREAKS = re.compile(r" *\x00[\x00 ]*")


def clean(text: Any, limit: int = 500) -> str:
    """One line of printable text of at most ``limit`` characters.

    Every character Python does not consider printable (C0 and C1 controls including
    NEL, line and paragraph separators, format characters such as bidi overrides and
    zero-width joiners, unassigned code points) becomes a space; runs of them collapse
    into one. A value cut to ``limit`` ends with ``...``.
    """
    return _cut(_one_line(text), limit)


def ascii_line(text: Any, limit: int = 500) -> str:
    """:func:`clean`, then ASCII: accents dropped (``é`` -> ``e``), anything else ``?``."""
    value = _one_line(text)
    if not value.isascii():
        decomposed = unicodedata.normalize("NFKD", value)
        value = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        value = _one_line(value.encode("ascii", "replace").decode("ascii"))
    return _cut(value, limit)


def _one_line(text: Any) -> str:
    value = "" if text is None else str(text)
    if not value.isprintable():
        value = _BREAKS.sub(" ", "".join(ch if ch.isprintable() else _BREAK for ch in value))
    return value.strip()


def _cut(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: max(limit - 3, 0)].rstrip() + "..."
