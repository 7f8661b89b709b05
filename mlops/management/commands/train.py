from mlops.commands import RunCommand
from mlops.models import Run


class Command(RunCommand):
    help = (
        "Train a model kind (or all) through the Celery workers; --wait shows progress."
    )
    run_type = Run.Type.TRAIN
