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


@pytest.mark.parametrize("selected", ["²", "99999999999999999999", "1.5", "\x00"])
@pytest.mark.parametrize(
    "url, action",
    [
        ("/admin/auth/group/", "delete_selected"),
        ("/admin/django_celery_beat/periodictask/", "enable_tasks"),
        ("/admin/forecasting/purchaseorder/", "receive_selected"),
    ],
)
def test_admin_actions_on_ids_that_cannot_exist_are_refused(
    admin_client, url, action, selected
):
    admin_client.raise_request_exception = False

    response = admin_client.post(
        url, {"action": action, "_selected_action": [selected], "index": "0"}
    )

    assert response.status_code == 400


def test_admin_actions_on_real_ids_still_run(admin_client):
    from django.contrib.auth.models import Group

    group = Group.objects.create(name="Temporary")

    response = admin_client.post(
        "/admin/auth/group/",
        {
            "action": "delete_selected",
            "_selected_action": [str(group.pk)],
            "post": "yes",
        },
    )

    assert response.status_code == 302
    assert not Group.objects.filter(pk=group.pk).exists()


@pytest.mark.parametrize(
    "url",
    [
        "/admin/accounts/user/?groups__exact=99999999999999999999",
        "/admin/admin/logentry/?content_type__exact=99999999999999999999",
        "/admin/recommender/recommendation/?product=99999999999999999999",
    ],
)
def test_admin_lists_filtered_on_impossible_numbers_are_refused(admin_client, url):
    admin_client.raise_request_exception = False

    assert admin_client.get(url).status_code == 400
    assert admin_client.get(url.replace("99999999999999999999", "7")).status_code in (
        200,
        302,
    )


def test_a_profile_selection_with_an_impossible_id_is_refused(admin_client):
    admin_client.raise_request_exception = False

    response = admin_client.post(
        "/admin/accounts/customerprofile/",
        {"action": "delete_selected", "_selected_action": ["99999999999999999999"]},
    )

    assert response.status_code == 400
