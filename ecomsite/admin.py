"""The sign-in lockout's admin (django-axes), registered after axes' own; DRF's
plain-text tokens are gone (moved to knox digests), so is their admin."""

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin
from rest_framework.authtoken.models import TokenProxy

admin.site.unregister(AccessAttempt)
admin.site.unregister(TokenProxy)


@admin.register(AccessAttempt)
class LockoutAttemptAdmin(AccessAttemptAdmin):
    """Failed sign-ins per client address; deleting a row lifts its lockout.

    axes' "clean up expired attempts" action reads an attribute only sign-in
    requests carry and fails from the admin, so it is left out.
    """

    actions = []
