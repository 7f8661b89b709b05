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
            for line in _protocol_lines(entry):
                self.stdout.write(f"    {line}")


def _protocol_lines(entry: dict) -> list[str]:
    """How the figures were measured and what serving leaves out, where recorded."""
    protocol, lines = entry.get("protocol") or {}, []
    if "held_out" in protocol:
        lines.append(f"protocol: {protocol.get('name', '')}: {protocol['held_out']}")
    if "cold_start_customers" in protocol:
        lines.append(
            f"customers: {protocol['test_customers']} measured, "
            f"{protocol['cold_start_customers']} cold start (measured apart), "
            f"{protocol.get('validation_customers', 0)} in validation; baskets by "
            f"{protocol.get('basket')}; history cut: "
            f"{protocol.get('history_removed_share', 0):.1%} of "
            f"{protocol.get('history_lines', 0)} lines "
            f"(gap {protocol.get('gap_days', 0):g} days)"
        )
    cold = protocol.get("cold_start")
    if isinstance(cold, dict) and "ndcg@10" in cold:
        lines.append(
            f"cold start ({cold.get('policy')}): ndcg@10={cold['ndcg@10']:.4f} "
            f"over {cold.get('customers', 0)} customers"
        )
    repeat = protocol.get("repeat_purchase")
    if isinstance(repeat, dict):
        lines.append(f"repeat purchases: {repeat.get('description')}")
    note = (entry.get("serving") or {}).get("note")
    if note:
        lines.append(f"WARNING: {note}")
    return lines


def _dumps(report) -> str:
    return json.dumps(report, indent=2, sort_keys=False)
