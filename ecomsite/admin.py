"""The sign-in lockout's admin (django-axes), registered after axes' own."""

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin

admin.site.unregister(AccessAttempt)


@admin.register(AccessAttempt)
class LockoutAttemptAdmin(AccessAttemptAdmin):
    """Failed sign-ins per client address; deleting a row lifts its lockout.

    axes' "clean up expired attempts" action reads an attribute only sign-in
    requests carry and fails from the admin, so it is left out.
    """

    actions = []
