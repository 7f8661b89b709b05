"""Erase a customer on request (right to erasure)."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.services import customer_erase
from ecomsite.numbers import parse_whole_number


class Command(BaseCommand):
    help = (
        "Erase a customer: delete their events, served lists, token, profile and "
        "account, anonymise their orders (totals kept) and keep a tombstone so that "
        "no import or training export brings them back. Asks no questions."
    )

    def add_arguments(self, parser):
        parser.add_argument("id", help="The customer's id (or imported id).")
        parser.add_argument(
            "--external",
            action="store_true",
            help="ID is the customer's id in the system they were imported from.",
        )

    def handle(self, *args, **options):
        identifier = options["id"].strip()
        users = get_user_model().objects
        if options["external"]:
            customer = users.filter(external_id=identifier).first()
            described = f"imported id {identifier!r}"
        elif parse_whole_number(identifier) is not None:
            customer = users.filter(pk=parse_whole_number(identifier)).first()
            described = f"id {identifier}"
        else:
            raise CommandError(
                f"{identifier!r} is not a customer id (a number); use --external for "
                "an imported id."
            )
        if customer is None:
            raise CommandError(f"No customer with {described}.")
        try:
            tombstone = customer_erase(customer=customer)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(f"Erased the customer with {described}:")
        for what, count in tombstone.removed.items():
            self.stdout.write(f"  {what}: {count}")
        self.stdout.write(f"Tombstone {tombstone.pseudonym[:12]}… kept.")
