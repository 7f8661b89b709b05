import json

from django.core.management.base import BaseCommand

from mlops.models import ModelKind
from mlops.selectors import model_report


class Command(BaseCommand):
    help = "Print the model registry: every version with its metrics and baselines."

    def add_arguments(self, parser):
        parser.add_argument("--kind", choices=ModelKind.values)
        parser.add_argument(
            "--json", action="store_true", help="Print JSON (stable format)."
        )

    def handle(self, *args, kind, **options):
        report = model_report(kind=kind)
        if options["json"]:
            self.stdout.write(_dumps(report))
            return
        if not report:
            self.stdout.write("No model versions yet.")
        for entry in report:
            metrics = ", ".join(f"{k}={v:.4f}" for k, v in entry["metrics"].items())
            self.stdout.write(
                f"{entry['kind']} v{entry['version']} {entry['algorithm']} "
                f"[{entry['status']}] {metrics}"
            )
            for name, values in entry["baselines"].items():
                shown = ", ".join(f"{k}={v:.4f}" for k, v in values.items())
                self.stdout.write(f"    baseline {name}: {shown}")
            # parts of the model measured alone (the image kind's image-only CNN)
            components = (entry["protocol"] or {}).get("components") or {}
            for name, values in components.items():
                shown = ", ".join(f"{k}={v:.4f}" for k, v in values.items())
                self.stdout.write(f"    component {name}: {shown}")


def _dumps(report) -> str:
    return json.dumps(report, indent=2, sort_keys=False)
