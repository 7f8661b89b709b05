"""One parser of whole numbers from forms and query strings: ASCII digits only."""

import pytest

from ecomsite.numbers import MAX_ID, parse_whole_number, parse_whole_numbers


@pytest.mark.parametrize(
    "text, expected",
    [
        ("42", 42),
        (" 7 ", 7),
        ("0", 0),
        (str(MAX_ID), MAX_ID),
        ("²", None),  # str.isdigit() is True, int() raises
        ("٣", None),  # int() reads it as 3: not what a form field means
        ("１２", None),
        ("-1", None),
        ("+1", None),
        ("1.5", None),
        ("1e3", None),
        ("", None),
        (" ", None),
        ("\x00", None),
        (str(MAX_ID + 1), None),
        ("9" * 40, None),
        (None, None),
        (12, None),
    ],
)
def test_only_ascii_digits_within_range_are_whole_numbers(text, expected):
    assert parse_whole_number(text) == expected


def test_a_maximum_and_a_list_limit():
    assert parse_whole_number("365", maximum=365) == 365
    assert parse_whole_number("366", maximum=365) is None
    assert parse_whole_numbers(["1", "²", "x", "3", "4"], limit=4) == [1, 3]


@pytest.mark.parametrize("value", ["²", "٣", "99999999999999999999", "-1"])
def test_removing_a_basket_line_with_a_strange_number_is_no_error(client, db, value):
    client.raise_request_exception = False

    response = client.post("/basket/", {"remove": value})

    assert response.status_code == 302
