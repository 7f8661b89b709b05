from mlops.commands import RunCommand
from mlops.models import Run


class Command(RunCommand):
    help = (
        "Run batch inference of a kind's champion (or all) through the Celery workers."
    )
    run_type = Run.Type.INFER
