"""API permissions shared by the apps: staff who also hold a model permission."""

from rest_framework.permissions import BasePermission


def staff_with(permission: str, why: str) -> type[BasePermission]:
    """Return a DRF permission class: staff users holding `permission` (app.codename)."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_staff and user.has_perm(permission))

    name = "StaffWith_" + permission.replace(".", "_")
    return type(
        name, (BasePermission,), {"__doc__": why, "has_permission": has_permission}
    )
