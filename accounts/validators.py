"""Italian codice fiscale: format and check character (DM 23/12/1976, Annex)."""

import re

from django.core.exceptions import ValidationError

_PATTERN = re.compile(
    r"^[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]$"
)

_ODD = {
    **dict(zip("0123456789", [1, 0, 5, 7, 9, 13, 15, 17, 19, 21], strict=True)),
    **dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ",
               [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10,
                22, 25, 24, 23], strict=True)),
}
_EVEN = {**{str(i): i for i in range(10)}, **{c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ")}}


def fiscal_code_check_char(first15: str) -> str:
    total = sum((_ODD if i % 2 == 0 else _EVEN)[c] for i, c in enumerate(first15))
    return chr(ord("A") + total % 26)


def validate_fiscal_code(value: str) -> None:
    code = (value or "").strip().upper()
    if not _PATTERN.match(code):
        raise ValidationError("Not a valid Italian fiscal code (16 characters).", code="format")
    if fiscal_code_check_char(code[:15]) != code[15]:
        raise ValidationError("Fiscal code check character does not match.", code="check_char")


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def validate_single_line(value: str) -> None:
    """Names end up in email headers and CSV cells: no line breaks or control characters."""
    if value and _CONTROL.search(value):
        raise ValidationError("Must be a single line without control characters.", code="control")
