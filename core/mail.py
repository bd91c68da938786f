"""Mail helpers shared by every app that sends email.

Django refuses a header that contains a line break (`BadHeaderError`), so a name with one
cannot inject a header, but it would make the notification fail. Names and other user text
that go into a header (subject, display name) pass through `header_safe` first.
"""

import re

# C0/C1 controls and the Unicode line/paragraph separators
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def header_safe(value, max_length: int = 200) -> str:
    """`value` on one line: control characters become a space, runs of spaces one."""
    text = _CONTROL.sub(" ", str(value))
    return " ".join(text.split())[:max_length]
