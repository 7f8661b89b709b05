"""Staff roles: created after migrate, re-synced by `sync_roles`, least privilege."""

import io

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command

from accounts.roles import ROLES, role_permissions, roles_sync

pytestmark = pytest.mark.django_db


def codenames(group: Group) -> set[str]:
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in group.permissions.select_related("content_type")
    }


def test_every_role_exists_with_exactly_its_permissions_after_migrate():
    for name, permissions in ROLES.items():
        assert codenames(Group.objects.get(name=name)) == set(permissions)


def test_sync_roles_reset_removes_what_was_added_by_hand():
    support = Group.objects.get(name="Support")
    support.permissions.add(Permission.objects.get(codename="change_user"))
    roles_sync()
    assert "accounts.change_user" in codenames(support)  # adding never removes

    out = io.StringIO()
    call_command("sync_roles", "--reset", stdout=out)

    assert "accounts.change_user" not in codenames(support)
    assert "Support: " in out.getvalue()


def test_no_role_may_change_accounts_or_read_personal_data_it_does_not_need():
    personal = {"accounts.view_user", "orders.view_order"}
    for name, permissions in ROLES.items():
        assert "accounts.change_user" not in permissions, name  # staff flags
        if name != "Support":
            assert not personal & set(permissions), name
    assert not {
        p for p in ROLES["Read-only"] if not p.split(".")[1].startswith("view_")
    }


def test_an_unknown_permission_in_a_role_is_refused(monkeypatch):
    monkeypatch.setitem(ROLES, "Broken", ["catalog.fly_product"])

    with pytest.raises(LookupError, match="catalog.fly_product"):
        role_permissions("Broken")
