"""Reads of users and their profiles."""

from .models import CustomerProfile, User


def user_get_with_profile(*, user_id: int) -> User:
    """Return the user with `profile` loaded; an unsaved empty one if they have none.

    Reads never create rows: staff and some imported users have no profile yet.
    """
    user = User.objects.select_related("profile").get(pk=user_id)
    if not hasattr(user, "profile"):
        user.profile = CustomerProfile(user=user)
    return user
