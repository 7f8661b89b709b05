"""Whole numbers read from forms, query strings and command arguments."""

# The largest value of a signed 64-bit column: a bigger number cannot be an id.
MAX_ID = 2**63 - 1


def parse_whole_number(text, *, maximum: int = MAX_ID) -> int | None:
    """Return `text` as an int when it is 1 to 19 ASCII digits (surrounding spaces
    allowed) no larger than `maximum`; return None for anything else.

    `str.isdigit()` accepts "²" or "٣", which `int()` then refuses or reads as
    another digit; a 30-digit id overflows the database's integer. Both are
    refused here, so a caller can answer a clear error instead of a server error.
    """
    if not isinstance(text, str):
        return None
    digits = text.strip()
    if not digits or len(digits) > 19 or not (digits.isascii() and digits.isdigit()):
        return None
    value = int(digits)
    return value if value <= maximum else None


def parse_whole_numbers(texts, *, limit: int | None = None) -> list[int]:
    """Return the valid whole numbers among `texts` (the first `limit` of them),
    leaving out what is not one."""
    values = (parse_whole_number(text) for text in list(texts)[:limit])
    return [value for value in values if value is not None]
