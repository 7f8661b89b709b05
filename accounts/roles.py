"""Staff roles as Django groups, each with the least permissions its work needs.

`roles_sync()` runs after every `migrate` (adding what is missing) and from
`manage.py sync_roles` (with `--reset`, removing what was added by hand too).
Superusers need no role. Customer data (accounts, orders, segments) is only in the
roles whose work is about customers.
"""

from django.contrib.auth.models import Group, Permission
from django.db import transaction

VIEW = ("view",)
EDIT = ("view", "add", "change")


def _grant(app_label: str, models: list[str], actions=VIEW) -> list[str]:
    return [f"{app_label}.{action}_{model}" for model in models for action in actions]


CATALOGUE = ["category", "product", "productimage", "pricechange"]
FORECASTS = ["salesrecord", "purchaseorder", "forecastpoint", "forecastsummary"]
MODELS = ["run", "modelversion", "registryevent", "servedbatch"]

ROLES: dict[str, list[str]] = {
    "Catalogue manager": [
        *_grant("catalog", CATALOGUE, EDIT),
        "catalog.review_category",
        *_grant("catalog", ["categorydecision", "stockmovement"]),
        *_grant("mlops", MODELS),
    ],
    "Stock manager": [
        *_grant("catalog", ["category", "product", "pricechange"]),
        *_grant("catalog", ["stockmovement"], ("view", "add")),
        *_grant("forecasting", ["purchaseorder"], EDIT),
        *_grant("forecasting", ["salesrecord", "forecastpoint", "forecastsummary"]),
        *_grant("mlops", MODELS),
    ],
    "Marketing": [
        *_grant("catalog", ["category", "product"]),
        *_grant("recommender", ["customersegment", "segmentsnapshot"]),
        *_grant("recommender", ["recommendation", "productrecommendation"]),
        *_grant("recommender", ["recommendationrule"], (*EDIT, "delete")),
    ],
    "Support": [
        # Customer records and orders; erasure requests (delete_user erases).
        *_grant("accounts", ["user"], ("view", "delete")),
        *_grant("accounts", ["customer"], ("view", "delete")),  # the customer page
        *_grant("accounts", ["customerprofile"], ("view", "change")),
        *_grant("orders", ["order", "orderline"]),
        *_grant("catalog", ["product"]),
    ],
    "Read-only": [
        *_grant("catalog", [*CATALOGUE, "stockmovement", "categorydecision"]),
        *_grant("forecasting", FORECASTS),
        *_grant("mlops", MODELS),
    ],
}


def role_permissions(name: str) -> list[Permission]:
    """Return the permissions of a role, refusing a codename that does not exist."""
    wanted = {tuple(perm.split(".", 1)) for perm in ROLES[name]}
    found = {
        (perm.content_type.app_label, perm.codename): perm
        for perm in Permission.objects.select_related("content_type").filter(
            codename__in=[codename for _, codename in wanted]
        )
    }
    missing = sorted(".".join(key) for key in wanted - set(found))
    if missing:
        raise LookupError(f"Role {name!r} names unknown permissions: {missing}.")
    return [found[key] for key in sorted(wanted)]


@transaction.atomic
def roles_sync(*, reset: bool = False) -> dict[str, int]:
    """Create the role groups and give them their permissions; with `reset`, take
    away any other permission they were given. Return permissions per role."""
    granted = {}
    for name in ROLES:
        group, _ = Group.objects.get_or_create(name=name)
        permissions = role_permissions(name)
        if reset:
            group.permissions.set(permissions)
        else:
            group.permissions.add(*permissions)
        granted[name] = len(permissions)
    return granted
