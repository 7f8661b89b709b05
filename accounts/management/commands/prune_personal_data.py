"""Delete personal data past its retention period (also run nightly by beat)."""

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.retention import personal_data_prune


class Command(BaseCommand):
    help = (
        "Delete browsing events (views, cart adds, searches) older than "
        "BEHAVIOUR_EVENT_RETENTION_DAYS and expired sessions. Safe to run at any time."
    )

    def handle(self, *args, **options):
        removed = personal_data_prune()
        days = settings.BEHAVIOUR_EVENT_RETENTION_DAYS
        self.stdout.write(
            f"Deleted {removed['behaviour events']} behaviour events older than "
            f"{days} days, {removed['sessions']} expired sessions and "
            f"{removed['API tokens']} expired API tokens."
        )
