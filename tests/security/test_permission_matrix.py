"""Who may do what: every API endpoint, staff page and admin action, for every
kind of caller.

The API routes are enumerated from the URL resolver, so a new endpoint without a
row in MATRIX fails `test_every_api_endpoint_has_an_expectation`. Callers: anonymous,
customer A (who owns the order), customer B, a superuser, and one staff member in
each role of accounts.roles (real groups, no superuser). Another customer's objects
are not found (404); staff-only data is refused to customers (403) and asks
anonymous callers to authenticate (401); a role without the permission a row
`needs` gets `denied`.
"""

from dataclasses import dataclass, field

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from accounts.roles import ROLES as ROLE_PERMISSIONS
from accounts.roles import roles_sync
from accounts.services import token_obtain
from catalog.models import Product
from tests.factories import (
    CategoryFactory,
    CustomerFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    StaffFactory,
)

ROLES = ("anonymous", "customer_a", "customer_b", "staff")
STAFF_ROLES = {
    "catalogue_manager": "Catalogue manager",
    "stock_manager": "Stock manager",
    "marketing": "Marketing",
    "support": "Support",
    "read_only": "Read-only",
}
CALLERS = (*ROLES, *STAFF_ROLES)
API_PREFIX = "api/v1/"
NOT_ROUTES = {"api-not-found"}  # a JSON 404, no view


@dataclass(frozen=True)
class Case:
    """One request and the status each role gets: (anonymous, A, B, staff)."""

    name: str
    method: str
    expected: tuple[int, int, int, int]
    kwargs: dict = field(default_factory=dict)  # values are keys of `world`
    body: dict | None = None  # "@key" stands for lookup(world, key)
    query: dict | None = None
    label: str = ""
    needs: tuple[str, ...] = ()  # permissions a non-superuser staff member needs
    denied: int = 403  # what such a member without them gets

    def expected_for(self, caller: str) -> int:
        if caller in ROLES:
            return self.expected[ROLES.index(caller)]
        granted = set(ROLE_PERMISSIONS[STAFF_ROLES[caller]])
        return self.expected[3] if set(self.needs) <= granted else self.denied

    @property
    def id(self) -> str:
        return f"{self.method} {self.name}{' ' + self.label if self.label else ''}"


PUBLIC = (200, 200, 200, 200)
SIGNED_IN = (401, 200, 200, 200)
STAFF_ONLY = (401, 403, 403, 200)
SEGMENTS = "recommender.view_customersegment"
FORECASTS = "forecasting.view_forecastpoint"

MATRIX = [
    # Catalogue: public reads; inactive products only for staff; review for staff.
    Case("api-product-list", "get", PUBLIC),
    Case("api-product-detail", "get", PUBLIC, {"sku": "product"}),
    Case(
        "api-product-detail",
        "get",
        (404, 404, 404, 200),
        {"sku": "inactive"},
        label="inactive",
    ),
    Case("api-product-visually-similar", "get", PUBLIC, {"sku": "product"}),
    Case(
        "api-product-visually-similar",
        "get",
        (404, 404, 404, 404),
        {"sku": "inactive"},
        label="inactive",
    ),
    Case(
        "api-product-image-upload",
        "post",
        (401, 403, 403, 415),  # 415 for staff: JSON, not a multipart upload
        {"sku": "product"},
        needs=("catalog.add_productimage",),
    ),
    Case("api-product-similar", "get", PUBLIC, {"sku": "product"}),
    Case("api-product-bought-together", "get", PUBLIC, {"sku": "product"}),
    Case(
        "api-product-category-accept",
        "post",
        (401, 403, 403, 400),  # 400 for staff: the model has suggested nothing
        {"sku": "product"},
        needs=("catalog.review_category",),
    ),
    Case(
        "api-product-category-override",
        "post",
        STAFF_ONLY,
        {"sku": "product"},
        body={"category": "@category"},
        needs=("catalog.review_category",),
    ),
    Case("api-category-list", "get", PUBLIC),
    Case("api-category-tree", "get", PUBLIC),
    Case("api-category-detail", "get", PUBLIC, {"pk": "category"}),
    # Orders: a customer's own only; another's order is not found.
    Case("api-order-list", "get", SIGNED_IN),
    Case(
        "api-order-list",
        "post",
        (401, 201, 201, 201),
        body={"lines": [{"sku": "@product", "quantity": 1}]},
    ),
    Case(
        "api-order-detail",
        "get",
        (401, 200, 404, 200),
        {"number": "order"},
        needs=("orders.view_order",),
        denied=404,  # staff without it see only their own orders
    ),
    # Account.
    Case("api-me", "get", SIGNED_IN),
    Case("api-me", "patch", SIGNED_IN, body={"first_name": "Ada"}),
    Case(
        "api-token-obtain",
        "post",
        (400, 400, 400, 400),
        body={"username": "customer_a", "password": "wrong"},
        label="wrong password",
    ),
    Case(
        "api-token-obtain",
        "post",
        PUBLIC,
        body={"username": "customer_a", "password": "correct-horse-battery"},
    ),
    Case("api-token-revoke", "post", (401, 204, 204, 204)),
    Case(
        "api-customer-erase",
        "post",
        (401, 403, 403, 204),
        {"pk": "victim"},
        needs=("accounts.delete_user",),
    ),
    Case(
        "api-customer-erase",
        "post",
        (401, 403, 403, 400),  # staff accounts are not erased
        {"pk": "staff"},
        label="staff account",
        needs=("accounts.delete_user",),
    ),
    # Recommendations: mine when signed in; anyone else's for staff only.
    Case("api-my-recommendations", "get", SIGNED_IN),
    Case(
        "api-customer-recommendations",
        "get",
        STAFF_ONLY,
        {"pk": "customer_a"},
        needs=("recommender.view_recommendation",),
    ),
    # Segments: staff only.
    Case("api-segments", "get", STAFF_ONLY, needs=(SEGMENTS,)),
    Case(
        "api-segment-customers",
        "get",
        STAFF_ONLY,
        {"segment": "segment"},
        needs=(SEGMENTS,),
    ),
    Case(
        "api-segment-export",
        "get",
        STAFF_ONLY,
        {"segment": "segment"},
        needs=(SEGMENTS,),
    ),
    Case(
        "api-customer-segment",
        "get",
        (401, 403, 403, 404),  # 404 for staff: no segment served yet
        {"pk": "customer_a"},
        needs=(SEGMENTS,),
    ),
    # Forecasts: staff only.
    Case(
        "api-product-forecast",
        "get",
        STAFF_ONLY,
        {"sku": "product"},
        needs=(FORECASTS,),
    ),
    Case(
        "api-product-what-if",
        "get",
        (401, 403, 403, 404),  # 404 for staff: no forecast served yet
        {"sku": "product"},
        query={"price": "9.50"},
        needs=(FORECASTS,),
    ),
]

# The staff's HTML pages outside the admin, and customers' own storefront pages
# (staff see only their own orders there); 302 is to a login page.
PAGES = [
    Case("forecasting:stockouts", "get", (302, 403, 403, 200), needs=(FORECASTS,)),
    Case(
        "forecasting:product",
        "get",
        (302, 403, 403, 200),
        {"sku": "product"},
        needs=(FORECASTS,),
    ),
    Case("storefront:order", "get", (302, 200, 404, 404), {"number": "order"}),
    Case("storefront:order-placed", "get", (302, 200, 404, 404), {"number": "order"}),
]


def role_member(role: str):
    """A staff member (not a superuser) whose only permissions are the role's group."""
    member = StaffFactory(username=role, is_superuser=False)
    member.groups.add(Group.objects.get(name=STAFF_ROLES[role]))
    return member


@pytest.fixture
def world(db):
    """The objects the matrix refers to by name."""
    roles_sync()
    customer_a = CustomerFactory(username="customer_a")
    product = ProductFactory(stock=100)
    order = OrderFactory(customer=customer_a)
    OrderLineFactory(order=order, product=product)
    return {
        **{role: role_member(role) for role in STAFF_ROLES},
        "customer_a": customer_a,
        "customer_b": CustomerFactory(username="customer_b"),
        "staff": StaffFactory(),
        "victim": CustomerFactory(),
        "product": product,
        "inactive": ProductFactory(is_active=False),
        "category": CategoryFactory(),
        "order": order,
        "segment": "champions",
    }


def lookup(world, key):
    """Return the URL or body value that `key` names in `world`."""
    value = world[key]
    if isinstance(value, Product):
        return value.sku
    if hasattr(value, "number"):
        return value.number
    if hasattr(value, "pk"):
        return value.pk
    return value


def resolve_body(world, body):
    if isinstance(body, dict):
        return {k: resolve_body(world, v) for k, v in body.items()}
    if isinstance(body, list):
        return [resolve_body(world, v) for v in body]
    if isinstance(body, str) and body.startswith("@"):
        return lookup(world, body[1:])
    return body


def api_client(world, role) -> APIClient:
    client = APIClient()
    if role != "anonymous":
        _, key = token_obtain(user=world[role])
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def api_routes() -> set[tuple[str, str]]:
    """Return (url name, method) of every API route the resolver knows."""
    routes = set()

    def walk(patterns, prefix):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and route.startswith(API_PREFIX):
                if pattern.name in NOT_ROUTES:
                    continue
                view = getattr(pattern.callback, "view_class", None)
                assert view is not None, f"{route} is not a DRF view"
                for method in view.http_method_names:
                    if method not in ("options", "head") and hasattr(view, method):
                        routes.add((pattern.name, method))

    walk(get_resolver().url_patterns, "")
    return routes


def test_every_api_endpoint_has_an_expectation():
    covered = {(case.name, case.method) for case in MATRIX}

    assert api_routes() - covered == set(), "API routes missing from MATRIX"
    assert covered - api_routes() == set(), "MATRIX rows for routes that are gone"


@pytest.mark.parametrize("role", CALLERS)
@pytest.mark.parametrize("case", MATRIX, ids=lambda case: case.id)
def test_api_permission_matrix(case, role, world):
    kwargs = {name: lookup(world, key) for name, key in case.kwargs.items()}
    url = reverse(case.name, kwargs=kwargs)
    client = api_client(world, role)
    send = getattr(client, case.method)
    if case.method == "get":
        response = send(url, case.query or {})
    else:
        response = send(url, resolve_body(world, case.body or {}), format="json")

    expected = case.expected_for(role)
    assert response.status_code == expected, (role, case.id, response.content[:300])


@pytest.mark.parametrize("role", CALLERS)
def test_order_list_shows_customers_only_their_own(role, world):
    response = api_client(world, role).get(reverse("api-order-list"))

    if role == "anonymous":
        assert response.status_code == 401
        return
    numbers = {order["number"] for order in response.json()["results"]}
    sees_all = role in ("customer_a", "staff", "support")  # support: view_order
    assert (world["order"].number in numbers) == sees_all


def html_client(world, role) -> Client:
    client = Client()
    if role != "anonymous":
        client.force_login(world[role])
    return client


@pytest.mark.parametrize("role", CALLERS)
@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_html_page_permissions(page, role, world):
    kwargs = {k: lookup(world, v) for k, v in page.kwargs.items()}
    url = reverse(page.name, kwargs=kwargs)

    response = html_client(world, role).get(url)

    assert response.status_code == page.expected_for(role), (role, url)
    if response.status_code == 302:
        assert "login" in response["Location"]


def admin_pages() -> list[str]:
    """Return every admin changelist and add page, and the admin index."""
    names = ["admin:index"]
    for model in admin.site._registry:
        opts = model._meta
        names.append(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        names.append(f"admin:{opts.app_label}_{opts.model_name}_add")
    return names


@pytest.mark.parametrize("role", ROLES)
def test_admin_pages_are_for_staff_only(role, world):
    client = html_client(world, role)
    seen = {}
    for name in admin_pages():
        response = client.get(reverse(name))
        seen[name] = response.status_code
        if role == "staff":
            # 403: an add page of a model that is never added by hand.
            assert response.status_code in (200, 403), (name, response.status_code)
        else:
            assert response.status_code == 302, (name, response.status_code)
            assert "/admin/login/" in response["Location"]
    if role == "staff":
        assert sum(code == 200 for code in seen.values()) > len(seen) // 2, seen


def test_staff_without_permissions_reach_no_admin_data(world):
    clerk = StaffFactory(is_superuser=False)
    client = html_client({"clerk": clerk}, "clerk")

    codes = {name: client.get(reverse(name)).status_code for name in admin_pages()}

    assert codes.pop("admin:index") == 200
    assert set(codes.values()) == {403}, codes


# Staff-only endpoints that need a model permission too, not just `is_staff`:
# (url name, kwargs, permission, status once the permission is granted).
NEEDS_PERMISSION = [
    ("api-product-category-override", {"sku": "product"}, "review_category", 200),
    ("api-customer-erase", {"pk": "victim"}, "delete_user", 204),
    ("api-segments", {}, "view_customersegment", 200),
    ("api-segment-customers", {"segment": "segment"}, "view_customersegment", 200),
    ("api-segment-export", {"segment": "segment"}, "view_customersegment", 200),
    ("api-customer-segment", {"pk": "customer_a"}, "view_customersegment", 404),
    ("api-customer-recommendations", {"pk": "customer_a"}, "view_recommendation", 200),
]


@pytest.mark.parametrize(
    "name, kwargs, codename, granted", NEEDS_PERMISSION, ids=lambda v: str(v)
)
def test_staff_need_the_model_permission(name, kwargs, codename, granted, world):
    case = next(case for case in MATRIX if case.name == name)
    url = reverse(name, kwargs={k: lookup(world, v) for k, v in kwargs.items()})
    body = resolve_body(world, case.body or {})

    def status_as(clerk):
        client = api_client({"clerk": clerk}, "clerk")
        return getattr(client, case.method)(url, body, format="json").status_code

    clerk = StaffFactory(is_superuser=False)
    assert status_as(clerk) == 403
    clerk.user_permissions.add(Permission.objects.get(codename=codename))
    assert status_as(type(clerk).objects.get(pk=clerk.pk)) == granted


@pytest.mark.parametrize("name", ["api-product-forecast", "api-product-what-if"])
def test_forecast_api_needs_a_permission(name, world):
    clerk = StaffFactory(is_superuser=False)
    url = reverse(name, kwargs={"sku": world["product"].sku})

    response = api_client({"clerk": clerk}, "clerk").get(url, {"price": "9.50"})

    assert response.status_code == 403


# --- Roles in the admin --------------------------------------------------------------

# Admin lists whose access is not the model's own view/change permission.
ADMIN_VIEW_NEEDS = {
    "admin:admin_logentry_changelist": "superuser only",  # the audit trail
    "admin:catalog_categoryreview_changelist": "catalog.review_category",
}


def may_view(role: str, changelist: str, model) -> bool:
    granted = set(ROLE_PERMISSIONS[STAFF_ROLES[role]])
    if changelist in ADMIN_VIEW_NEEDS:
        return ADMIN_VIEW_NEEDS[changelist] in granted
    opts = model._meta
    return bool(
        {
            f"{opts.app_label}.view_{opts.model_name}",
            f"{opts.app_label}.change_{opts.model_name}",
        }
        & granted
    )


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_each_role_reaches_only_its_admin_lists(role, world):
    client = html_client(world, role)
    wrong = {}
    for model in admin.site._registry:
        opts = model._meta
        name = f"admin:{opts.app_label}_{opts.model_name}_changelist"
        status = client.get(reverse(name)).status_code
        if status != (200 if may_view(role, name, model) else 403):
            wrong[name] = status
    assert wrong == {}, role


# Admin actions offered to each role, by list ("app.model"): the superuser gets
# every action of every list; a role gets only these (delete_selected included).
ROLE_ACTIONS = {
    "accounts.user": {"support": {"delete_selected", "erase_customers"}},
    "accounts.customer": {
        "support": {"delete_selected", "erase_selected", "export_selected"}
    },
    "orders.order": {"support": {"export_selected"}},
    "catalog.categoryreview": {"catalogue_manager": {"accept_selected"}},
    "recommender.customersegment": {"marketing": {"export_csv"}},
    "recommender.recommendationrule": {"marketing": {"delete_selected"}},
    "forecasting.purchaseorder": {
        "stock_manager": {"receive_selected", "cancel_selected"}
    },
}


def offered_actions(model_admin, user) -> set[str]:
    """The actions `user` can run on a list: those the admin offers, on a list the
    user may open (the action is posted to the list's page)."""
    request = RequestFactory().get("/admin/")
    request.user = user
    if not model_admin.has_view_or_change_permission(request):
        return set()
    return set(model_admin.get_actions(request))


@pytest.mark.parametrize("role", [*STAFF_ROLES, "staff"])
def test_each_role_is_offered_only_its_admin_actions(role, world):
    wrong = {}
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        label = f"{opts.app_label}.{opts.model_name}"
        offered = offered_actions(model_admin, world[role])
        if role == "staff":
            expected = set().union(*ROLE_ACTIONS.get(label, {}).values())
            if not expected <= offered:  # a superuser is offered every action
                wrong[label] = (offered, expected)
        elif offered != ROLE_ACTIONS.get(label, {}).get(role, set()):
            wrong[label] = offered
    assert wrong == {}, role
