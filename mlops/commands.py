"""Shared parts of the `train` and `infer` commands."""

import json
import time

from django.core.management.base import BaseCommand, CommandError

from .kinds import KindNotAvailable, RunRefused, available_kinds
from .models import ModelKind, Run
from .runs import run_request

KIND_CHOICES = [*ModelKind.values, "all"]
SUCCEEDED, NOT_TRAINED, FAILED = "succeeded", "not trained", "failed"
REFUSALS = tuple(f"{cls.__name__}: " for cls in (RunRefused, KindNotAvailable))


def outcome_of(run: Run) -> str:
    """Return how a finished run ended: succeeded, not trained (refused: a kind
    with too little data, say) or failed (an error)."""
    if run.state == Run.State.SUCCEEDED:
        return SUCCEEDED
    return NOT_TRAINED if run.message.startswith(REFUSALS) else FAILED


class RunCommand(BaseCommand):
    run_type: str

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=KIND_CHOICES)
        parser.add_argument(
            "--wait", action="store_true", help="Show progress until the run ends."
        )
        parser.add_argument(
            "--options",
            default="{}",
            help="JSON object of run options (e.g. a tuning grid).",
        )
        parser.add_argument(
            "--timeout", type=float, default=0, help="Seconds to wait (0: no limit)."
        )

    def handle(self, *args, kind, wait, options, timeout, **rest):
        try:
            run_options = json.loads(options)
        except json.JSONDecodeError as exc:
            raise CommandError(f"--options is not valid JSON: {exc}") from exc
        if not isinstance(run_options, dict):
            raise CommandError("--options must be a JSON object.")
        kinds = available_kinds() if kind == "all" else [kind]
        missing = [k for k in kinds if k not in available_kinds()]
        if missing:
            raise CommandError(
                f"Model kind {missing[0]!r} is not available yet; available: "
                f"{', '.join(available_kinds())}."
            )
        runs = [
            run_request(kind=k, type=self.run_type, options=run_options) for k in kinds
        ]
        for run in runs:
            self.stdout.write(f"Queued {run}.")
        if not wait:
            return
        for run in runs:
            self._follow(run, timeout)
        # Of all kinds, one that cannot train yet (no data, too little) is reported,
        # not failed: only a real error fails `train all`.
        tolerant = kind == "all" and self.run_type == Run.Type.TRAIN
        outcomes = [(run, outcome_of(run)) for run in runs]
        if len(runs) > 1:
            self.stdout.write("Outcome by kind:")
            for run, outcome in outcomes:
                self.stdout.write(f"  {run.kind}: {outcome} — {run.message}")
        failed = [
            run
            for run, outcome in outcomes
            if outcome == FAILED or (outcome == NOT_TRAINED and not tolerant)
        ]
        if failed:
            raise CommandError(
                "Failed: " + "; ".join(f"{r} — {r.message}" for r in failed)
            )

    def _follow(self, run: Run, timeout: float) -> bool:
        from tqdm import tqdm

        started = time.monotonic()
        with tqdm(
            total=100,
            desc=f"{run.type} {run.kind}",
            unit="%",
            file=self.stderr._out,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}",
        ) as bar:
            while True:
                run.refresh_from_db()
                bar.n = round(run.progress, 1)
                eta = f", ETA {run.eta_seconds:.0f}s" if run.eta_seconds else ""
                bar.set_postfix_str(f"{run.state} {run.message[:60]}{eta}")
                if run.is_finished:
                    break
                if timeout and time.monotonic() - started > timeout:
                    raise CommandError(f"{run} did not finish within {timeout:g} s.")
                time.sleep(0.5)
        self.stdout.write(f"{run}: {run.message}")
