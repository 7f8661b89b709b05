from django.core.management.base import BaseCommand, CommandError

from catalog.demo.world import StoreSpec
from catalog.demo.writer import (
    SHOWCASE_PASSWORD,
    SHOWCASE_USERNAME,
    DemoStoreError,
    demo_store_delete,
    demo_store_exists,
    demo_store_generate,
)

LIMITS = {"customers": 1_000_000, "products": 100_000, "days": 3650}


class Command(BaseCommand):
    help = (
        "Generate a synthetic shop (catalogue, pictures, customers, orders, stock, "
        "prices, behaviour), deterministic per seed, and save its hidden truth as "
        "JSON under VAR_DIR."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--customers", type=int, default=2000)
        parser.add_argument("--products", type=int, default=500)
        parser.add_argument("--days", type=int, default=365)
        parser.add_argument(
            "--reset", action="store_true", help="Delete a previous demo store first."
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing (successfully) if a demo store is already there.",
        )
        parser.add_argument(
            "--no-images", action="store_true", help="Skip drawing product pictures."
        )

    def handle(self, *args, seed, customers, products, days, **options):
        for name, value in (
            ("customers", customers),
            ("products", products),
            ("days", days),
        ):
            if not 1 <= value <= LIMITS[name]:
                raise CommandError(f"--{name} must be between 1 and {LIMITS[name]:,}.")
        if seed < 0:
            raise CommandError("--seed must be zero or positive.")
        if options["if_empty"] and not options["reset"] and demo_store_exists():
            self.stdout.write("A demo store is already there; nothing to do.")
            return
        try:
            if options["reset"]:
                demo_store_delete(progress=self.stdout.write)
            report = demo_store_generate(
                spec=StoreSpec(
                    seed=seed, customers=customers, products=products, days=days
                ),
                progress=self.stdout.write,
                with_images=not options["no_images"],
            )
        except DemoStoreError as exc:
            raise CommandError(str(exc)) from exc
        total = sum(report.seconds.values())
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo store written: {report.rows:,} rows in {total:.1f}s, "
                f"{report.start_date} to {report.end_date}. Truth: {report.truth_path}"
            )
        )
        self.stdout.write(
            f"Showcase customer: {SHOWCASE_USERNAME} / {SHOWCASE_PASSWORD}"
        )
