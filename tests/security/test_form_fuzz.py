"""Post arbitrary text to every storefront form and admin action: never a 500.

Each target gets `EXAMPLES` generated posts (times FUZZ_SCALE) from the day's seed
(see tests/security/fuzzing.py). Field names come from the forms themselves plus
arbitrary ones; values are hostile text (non-ASCII digits, huge numbers, NUL…).
"""

from collections import Counter

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from storefront.basket import SESSION_KEY
from tests.factories import (
    CategoryFactory,
    CustomerFactory,
    OrderFactory,
    ProductFactory,
    StaffFactory,
)
from tests.security.fuzzing import explore, hostile_text, replay_hint

EXAMPLES = 8  # per target: about 45 targets, ~360 posts in CI

# Every field name the shop's forms and admin views read, and Django admin's own.
FIELD_NAMES = [
    "remove",
    "sku",
    "quantity",
    "username",
    "password",
    "next",
    "page",
    "min_price",
    "max_price",
    "in_stock",
    "sort",
    "sub",
    "action",
    "_selected_action",
    "select_across",
    "index",
    "post",
    "kind",
    "type",
    "product",
    "ids",
    "days",
    "p",
    "q",
    "o",
    "price",
    "period",
    "reason",
    "reference",
    "accept",
    "pick",
]


def fields(names=()):
    """Form data: every one of `names` (the target's own fields) and a few others,
    known or arbitrary, each with one to three hostile values."""
    values = st.lists(hostile_text, min_size=1, max_size=3)
    own = st.fixed_dictionaries(dict.fromkeys(names, values))
    others = st.dictionaries(
        st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=12)),
        values,
        max_size=4,
    )
    return st.builds(lambda o, a: {**a, **o}, own, others)


@pytest.fixture
def shop(db):
    customer = CustomerFactory()
    category = CategoryFactory(name="Kitchen")
    products = [ProductFactory(category=category, stock=50) for _ in range(2)]
    order = OrderFactory(customer=customer)
    return {
        "customer": customer,
        "superuser": StaffFactory(),
        "products": products,
        "category": category,
        "order": order,
    }


def with_basket(client: Client, products) -> Client:
    session = client.session
    session[SESSION_KEY] = {str(p.pk): 1 for p in products}
    session.save()
    return client


def send(client: Client, method: str, url: str, data: dict, counter: Counter):
    """Send one fuzzed request; fail with the request when it is a server error."""
    client.raise_request_exception = False
    response = getattr(client, method)(url, data)
    counter[response.status_code // 100] += 1
    assert response.status_code < 500, (
        f"{method.upper()} {url} {data!r} -> {response.status_code}; {replay_hint()}"
    )


def storefront_targets(shop) -> list[tuple[str, str, list[str]]]:
    """(method, url, extra field names) of every storefront form and filter."""
    pks = [p.pk for p in shop["products"]]
    return [
        ("post", reverse("storefront:basket"), [f"quantity-{pk}" for pk in pks]),
        ("post", reverse("storefront:basket"), ["remove"]),
        ("post", reverse("storefront:basket-add"), ["sku", "quantity"]),
        ("post", reverse("storefront:checkout"), []),
        ("post", reverse("storefront:login"), ["username", "password", "next"]),
        ("post", reverse("storefront:logout"), ["next"]),
        (
            "get",
            reverse("storefront:category", args=["kitchen"]),
            ["min_price", "max_price", "in_stock", "sort", "sub", "page"],
        ),
        ("get", reverse("storefront:orders"), ["page"]),
        ("get", reverse("storefront:home"), []),
        ("get", reverse("storefront:product", args=[shop["products"][0].sku]), []),
    ]


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "customer"])
def test_storefront_forms_never_give_a_server_error(signed_in, shop):
    counter: Counter = Counter()
    for method, url, extra in storefront_targets(shop):

        def request(data, method=method, url=url):
            client = Client()
            if signed_in:
                client.force_login(shop["customer"])
            with_basket(client, shop["products"])
            send(client, method, url, data, counter)

        explore(EXAMPLES)(given(data=fields(extra))(lambda data: request(data)))()
    print(f"storefront ({'customer' if signed_in else 'anonymous'}): {dict(counter)}")
    assert sum(counter.values()) >= EXAMPLES * len(storefront_targets(shop))


def filter_parameters(model_admin) -> list[str]:
    """The query parameters a changelist's filters, search, order and pages read."""
    names = ["q", "o", "p", "e"]
    for entry in model_admin.list_filter:
        field = entry[0] if isinstance(entry, tuple) else entry
        if isinstance(field, str):
            names += [f"{field}__exact", f"{field}__id__exact", f"{field}__gte"]
        else:
            names.append(field.parameter_name)
    return names


ACTION_FIELDS = ["_selected_action", "index", "select_across", "post"]


def admin_targets(shop) -> list[tuple[str, str, list[str], list[str]]]:
    """(method, url, field names, actions): every changelist's actions and
    filters, and the admin's own views."""
    targets = []
    request = type("Request", (), {"user": shop["superuser"], "GET": {}})()
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        actions = list(model_admin.get_actions(request))
        targets.append(("post", url, ACTION_FIELDS, actions))
        targets.append(("get", url, filter_parameters(model_admin), []))
    product = shop["products"][0].pk
    for name, args, names in [
        ("admin:mlops_run_progress", [], ["ids"]),
        ("admin:mlops_run_start", [], ["kind", "type", "next"]),
        (
            "admin:catalog_categoryreview_decide",
            [],
            ["accept", "pick", f"pick-{product}"],
        ),
        (
            "admin:catalog_product_stock_movement",
            [product],
            ["kind", "quantity", "reference"],
        ),
        ("admin:recommender_customersegment_overview", [], []),
        ("admin:forecasting_salesrecord_what_if", [], ["sku", "price", "days"]),
        ("admin:forecasting_purchaseorder_reorder", [], ["product", "next", "p"]),
        ("admin:forecasting_purchaseorder_stockouts", [], ["days", "p"]),
        ("forecasting:stockouts", [], ["days"]),
        ("forecasting:product", [shop["products"][0].sku], ["price", "days"]),
    ]:
        url = reverse(name, args=args)
        targets += [("post", url, names, []), ("get", url, names, [])]
    return targets


def test_admin_actions_and_views_never_give_a_server_error(shop):
    client = Client()
    client.force_login(shop["superuser"])
    counter: Counter = Counter()
    targets = admin_targets(shop)
    for method, url, names, actions in targets:
        chosen = st.sampled_from(actions) if actions else hostile_text

        def request(data, action, method=method, url=url, actions=actions):
            if actions:
                data = {"action": action, **data}
            send(client, method, url, data, counter)

        fuzz = given(data=fields(names), action=chosen)(
            lambda data, action: request(data, action)
        )
        explore(EXAMPLES)(fuzz)()
    print(f"admin: {dict(counter)}")
    assert sum(counter.values()) >= EXAMPLES * len(targets)
