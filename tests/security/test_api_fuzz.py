"""Fuzz the API from its own OpenAPI schema with schemathesis, in-process over WSGI.

Every operation gets generated requests, valid and invalid ones, as an anonymous
caller, a customer and staff; unsafe methods run too, on the test database. Every
response must be no 5xx and must conform to the schema (status code, content type,
body). Examples come from the day's seed (tests/security/fuzzing.py: printed in the
pytest header, FUZZ_SEED replays, FUZZ_SCALE runs longer).
"""

from collections import Counter

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from knox.models import AuthToken
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.services import token_obtain
from tests.factories import CustomerFactory, OrderFactory, ProductFactory, StaffFactory
from tests.security.fuzzing import explore, fuzz_scale, replay_hint

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 6  # per generation mode (× FUZZ_SCALE); ~220 per role
MIN_REQUESTS_PER_ROLE = 200 * fuzz_scale()


@pytest.fixture(scope="module")
def api_schema():
    """Load the schema the app serves, bound to the app itself over WSGI."""
    raw = SchemaGenerator().get_schema(request=None, public=True)
    schema = schemathesis.openapi.from_dict(raw)
    schema.app = WSGIHandler()
    return schema


@pytest.fixture
def in_process_wsgi(db):
    """Keep the test transaction open across WSGI requests, as Django's test Client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def shop(db):
    """A few real rows, so that generated requests also reach existing objects."""
    customer = CustomerFactory()
    staff = StaffFactory()
    products = [ProductFactory(stock=100_000) for _ in range(3)]
    order = OrderFactory(customer=customer)
    return {
        "customer": customer,
        "staff": staff,
        "known": {
            "sku": products[0].sku,
            "number": order.number,
            "id": customer.pk,
            "segment": "champions",
            "category": products[0].category_id,
        },
    }


def operations(api_schema):
    return [result.ok() for result in api_schema.get_all_operations()]


def point_at_known_rows(body, known) -> None:
    """Replace generated SKUs and category ids in a body with existing ones."""
    if isinstance(body, list):
        for item in body:
            point_at_known_rows(item, known)
    elif isinstance(body, dict):
        for name, value in body.items():
            if name in ("sku", "category") and not isinstance(value, (dict, list)):
                body[name] = known[name]
            else:
                point_at_known_rows(value, known)


_keys: dict[int, str] = {}


def credentials_of(user) -> dict:
    """The Authorization header of `user` (none for an anonymous caller); a token
    revoked by a fuzzed request is re-issued, so that each request runs as `user`."""
    if user is None:
        return {}
    if user.pk not in _keys or not AuthToken.objects.filter(user=user).exists():
        _keys[user.pk] = token_obtain(user=user)[1]
    return {"Authorization": f"Token {_keys[user.pk]}"}


def fuzz_operation(operation, *, mode, user, known, protected_ids, counter, failures):
    """Run one operation's generated cases; return nothing, record failures."""

    @explore(EXAMPLES_PER_OPERATION)
    @given(case=operation.as_strategy(generation_mode=mode), use_known=st.booleans())
    def run(case, use_known):
        if use_known:
            for name in case.path_parameters or {}:
                if name in known:
                    case.path_parameters[name] = known[name]
            point_at_known_rows(case.body, known)
        # Erasing one of the fuzzing accounts would end the run; erase a victim.
        if "/erase/" in operation.path and (
            use_known or case.path_parameters.get("id") in protected_ids
        ):
            case.path_parameters["id"] = CustomerFactory().pk
        response = case.call(headers=credentials_of(user))
        counter[(operation.label, mode.value, response.status_code)] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - report all at the end
            failures.append(f"{operation.label} [{mode.value}]: {exc}")

    try:
        run()
    except Unsatisfiable:
        # No invalid request exists for an operation without parameters or body.
        assert mode is GenerationMode.NEGATIVE, operation.label


@pytest.mark.parametrize("role", ["anonymous", "customer", "staff"])
def test_api_survives_schema_fuzzing(role, api_schema, in_process_wsgi, shop):
    _keys.clear()
    user = shop.get(role)
    protected_ids = {shop["customer"].pk, shop["staff"].pk}
    counter: Counter = Counter()
    failures: list[str] = []
    for operation in operations(api_schema):
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz_operation(
                operation,
                mode=mode,
                user=user,
                known=shop["known"],
                protected_ids=protected_ids,
                counter=counter,
                failures=failures,
            )

    assert not failures, "\n\n".join([*dict.fromkeys(failures), replay_hint()])
    requests = sum(counter.values())
    succeeded = sum(n for (_, _, status), n in counter.items() if status < 300)
    print(f"{role}: {requests} requests, {succeeded} of them 2xx; {replay_hint()}")
    assert requests >= MIN_REQUESTS_PER_ROLE, counter
    assert succeeded >= 20, counter  # the happy paths were reached too
    assert not [key for key in counter if key[2] >= 500]


# Edge values the fuzzer (or a review of what it could not reach) found giving 500s:
# a float or 20-digit id overflowed SQLite's integer; NUL in a path crashed PostgreSQL.
EDGE_URLS = [
    "/api/v1/orders/?customer=-1.7976931348623157e%2B308",
    "/api/v1/orders/?customer=99999999999999999999",
    "/api/v1/orders/?customer=1.5",
    "/api/v1/orders/?page=99999999999999999999",
    "/api/v1/products/?max_price=1e308",
    "/api/v1/products/?max_price=NaN",
    "/api/v1/products/?max_price=99999999999999999999999999",
    "/api/v1/products/?category=99999999999999999999",
    "/api/v1/products/?search=%00&ordering=%00",
    "/api/v1/products/%00/",
    "/api/v1/products/%00/forecast/",
    "/api/v1/products/%00/similar/",
    "/api/v1/orders/%00/",
    "/api/v1/categories/99999999999999999999/",
    "/api/v1/customers/99999999999999999999/segment/",
    "/api/v1/customers/99999999999999999999/recommendations/",
    "/api/v1/products/x/what-if/?price=1e308&days=99999999999999",
    "/api/v1/segments/champions/customers/?page=99999999999999999999",
]


@pytest.mark.postgres
@pytest.mark.parametrize("url", EDGE_URLS)
def test_edge_values_never_give_a_server_error(url, staff_client):
    staff_client.raise_request_exception = False

    response = staff_client.get(url)

    assert response.status_code < 500, response.content[:200]
    assert response["Content-Type"] == "application/json"
