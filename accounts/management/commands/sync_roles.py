from django.core.management.base import BaseCommand

from accounts.roles import roles_sync


class Command(BaseCommand):
    help = (
        "Create the staff roles (groups) with their permissions: catalogue manager, "
        "stock manager, marketing, support, read-only. Also runs after migrate."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Also remove permissions given to the role groups by hand.",
        )

    def handle(self, *args, **options):
        granted = roles_sync(reset=options["reset"])
        for name, count in granted.items():
            self.stdout.write(f"{name}: {count} permissions")
