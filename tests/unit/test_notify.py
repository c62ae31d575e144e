"""The SNS subject every alert is published with: what SNS Publish accepts, whatever the input."""

from __future__ import annotations

import string

from hypothesis import given, settings, strategies as st

from sgwatch import notify

# SNS Publish: ASCII text that begins with a letter, number or punctuation mark, without line
# breaks or control characters, shorter than 100 characters.
# https://docs.aws.amazon.com/sns/latest/api/API_Publish.html
ACCEPTED_FIRST = set(string.ascii_letters + string.digits + string.punctuation)
ACCEPTED = set(string.printable) - set("\t\n\r\x0b\x0c")


def assert_accepted_by_sns(subject: str) -> None:
    assert 0 < len(subject) < 100, (len(subject), subject)
    assert subject[0] in ACCEPTED_FIRST, subject
    assert set(subject) <= ACCEPTED, subject


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_becomes_a_subject_sns_accepts(text: str) -> None:
    assert_accepted_by_sns(notify.sns_subject(text))


def test_a_subject_of_exactly_100_characters_is_shortened() -> None:
    subject = notify.sns_subject("[LOW] " + "x" * 94)
    assert_accepted_by_sns(subject)
    assert subject.startswith("[LOW] xxx") and subject.endswith("...")


def test_line_breaks_and_unicode_become_one_ascii_line() -> None:
    subject = notify.sns_subject(" \u2028SG Watch:\nnew\u00a0rule\r\n in ünïcode \U0001f512")
    assert subject == "SG Watch: new rule in unicode ?"
