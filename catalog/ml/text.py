"""How the models read a product's name: lower case, no punctuation, words."""

import re

PUNCTUATION = re.compile(r"[!\"#$%&()\*\+,\-\./:;<=>?@\[\\\]^_`{|}~']")


def words(title: str) -> list[str]:
    """Return the words and word pairs `TextVectorization` makes of a title."""
    tokens = PUNCTUATION.sub("", title.lower()).split()
    return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]
