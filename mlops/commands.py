"""Shared parts of the `train` and `infer` commands."""

import json
import time

from django.core.management.base import BaseCommand, CommandError

from .kinds import available_kinds
from .models import ModelKind, Run
from .runs import run_request

KIND_CHOICES = [*ModelKind.values, "all"]


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
        if wait:
            failed = [run for run in runs if not self._follow(run, timeout)]
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
        return run.state == Run.State.SUCCEEDED
