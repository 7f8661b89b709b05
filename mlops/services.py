"""Training and batch inference as the workers run them."""

import logging
import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.models import Product

from .chunking import inference_chunk_size
from .kinds import ChampionArtifact, RunRefused, TrainContext, get_kind
from .loader import champions
from .models import InferenceChunk, ModelVersion, Run, ServedBatch
from .registry import artifact_read, version_register
from .runs import RunReporter, run_claim, run_log, run_succeed

logger = logging.getLogger(__name__)


def training_execute(run_id: int) -> ModelVersion | None:
    """Train, evaluate and register one model for the run; safe to run again."""
    run = run_claim(run_id)
    if run is None:
        return None
    existing = ModelVersion.objects.filter(run=run).first()
    if existing:  # registered before the worker died; only the bookkeeping is left
        run_succeed(run.pk, f"registered {existing}")
        return existing
    from .ml.device import setup_device

    spec = get_kind(run.kind)
    seed = int(run.options.get("seed", settings.MLOPS_SEED))
    device = setup_device(seed=seed, cpu_threads=settings.MLOPS_CPU_THREADS)
    Run.objects.filter(pk=run.pk).update(device=str(device))
    reporter = RunReporter(run.pk, end=95.0)
    reporter.log(f"training {run.kind} on {device}")
    champion = ModelVersion.objects.filter(
        kind=run.kind, status=ModelVersion.Status.CHAMPION
    ).first()
    context = TrainContext(
        seed=seed,
        progress=reporter,
        log=reporter.log,
        options=run.options,
        champion=ChampionArtifact(
            champion.algorithm, artifact_read(champion), champion.hyperparameters
        )
        if champion
        else None,
    )
    started = time.monotonic()
    outcome = spec.train(context)
    version = version_register(
        spec=spec,
        run=run,
        outcome=outcome,
        seed=seed,
        device=str(device),
        trained_at=timezone.now(),
        training_seconds=round(time.monotonic() - started, 3),
    )
    served = ModelVersion.objects.filter(kind=run.kind, status="champion").first()
    run_succeed(run.pk, f"registered {version}; serving {served}")
    return version


def inference_start(run_id: int, *, workers: int = 1) -> list[int]:
    """Prepare the run's batch and chunks; return the indices of chunks still to do.

    The chunk size adapts to `workers` (the processes taking chunks) and the size of
    the catalogue, unless the run's options or MLOPS_INFERENCE_CHUNK_SIZE fix it.
    """
    run = run_claim(run_id)
    if run is None:
        return []
    batch = ServedBatch.objects.filter(run=run).first()
    if batch is None:
        version = ModelVersion.objects.filter(
            kind=run.kind, status=ModelVersion.Status.CHAMPION
        ).first()
        if version is None:
            raise RunRefused(f"No {run.kind} champion to run; train one first.")
        spec = get_kind(run.kind)
        keys = spec.inference_keys()
        size, catalogue = _chunk_size(run, len(keys), workers)
        with transaction.atomic():
            batch = ServedBatch.objects.create(
                kind=run.kind,
                model_version=version,
                run=run,
                total_chunks=(len(keys) + size - 1) // size,
            )
            InferenceChunk.objects.bulk_create(
                InferenceChunk(batch=batch, index=i, keys=keys[start : start + size])
                for i, start in enumerate(range(0, len(keys), size))
            )
            Run.objects.filter(pk=run.pk).update(
                model_version=version, total_steps=batch.total_chunks
            )
        run_log(
            run.pk,
            f"{len(keys)} keys in {batch.total_chunks} chunks of up to {size} "
            f"({workers} workers, {catalogue} products), {version}",
        )
    pending = list(batch.chunks.filter(done=False).values_list("index", flat=True))
    if not pending:
        inference_finalize(batch.pk)
    return pending


def _chunk_size(run: Run, keys: int, workers: int) -> tuple[int, int]:
    """Return (keys per chunk, active products) for a run's batch."""
    catalogue = Product.objects.filter(is_active=True).count()
    fixed = run.options.get("chunk_size") or settings.MLOPS_INFERENCE_CHUNK_SIZE
    if fixed:
        return int(fixed), catalogue
    size = inference_chunk_size(
        keys,
        workers=workers,
        catalogue=catalogue,
        chunks_per_worker=settings.MLOPS_INFERENCE_CHUNKS_PER_WORKER,
        max_cells=settings.MLOPS_INFERENCE_CHUNK_CELLS,
        smallest=settings.MLOPS_INFERENCE_SMALLEST_CHUNK,
    )
    return size, catalogue


def inference_chunk_execute(run_id: int, index: int) -> None:
    """Write the served rows of one chunk; a chunk done before is skipped."""
    chunk = InferenceChunk.objects.select_related("batch__model_version").get(
        batch__run_id=run_id, index=index
    )
    if chunk.done:
        return
    batch = chunk.batch
    if batch.state != ServedBatch.State.BUILDING:
        return
    started = time.monotonic()
    spec = get_kind(batch.kind)
    model = champions.get_version(batch.model_version)
    with transaction.atomic():
        rows = spec.infer_chunk(model=model, keys=chunk.keys, batch_id=batch.pk)
        InferenceChunk.objects.filter(pk=chunk.pk).update(
            done=True, rows=rows, seconds=time.monotonic() - started
        )
    done = InferenceChunk.objects.filter(batch=batch, done=True).count()
    RunReporter(run_id, end=99.0)._write(done, batch.total_chunks)
    if done == batch.total_chunks:
        inference_finalize(batch.pk)


def inference_finalize(batch_id: int) -> None:
    """Swap the complete batch in for readers, then drop the rows it replaced."""
    with transaction.atomic():
        batch = ServedBatch.objects.select_for_update().get(pk=batch_id)
        if batch.state != ServedBatch.State.BUILDING:
            return
        if batch.chunks.filter(done=False).exists():
            return
        old = list(
            ServedBatch.objects.select_for_update()
            .filter(kind=batch.kind, state=ServedBatch.State.ACTIVE)
            .values_list("pk", flat=True)
        )
        ServedBatch.objects.filter(pk__in=old).update(
            state=ServedBatch.State.SUPERSEDED
        )
        total = sum(batch.chunks.values_list("rows", flat=True))
        ServedBatch.objects.filter(pk=batch.pk).update(
            state=ServedBatch.State.ACTIVE, rows=total, activated_at=timezone.now()
        )
    spec = get_kind(batch.kind)
    hook = getattr(spec, "on_activated", None)
    # e.g. segments record movement before the previous rows are dropped; a hook may
    # return a note for the run's message (what serving will leave out, and why)
    note = hook(batch.pk, old[0] if old else None) if hook else None
    stale = list(
        ServedBatch.objects.filter(kind=batch.kind)
        .exclude(pk=batch.pk)
        .exclude(state=ServedBatch.State.BUILDING)
        .values_list("pk", flat=True)
    )
    spec.delete_batch_rows(stale)
    message = f"served {total} rows from {batch.model_version}"
    run_succeed(batch.run_id, f"{message}. {note}" if note else message)


def inference_abandon(run_id: int) -> None:
    """Mark a failed run's unfinished batch abandoned and drop its rows."""
    batch = ServedBatch.objects.filter(
        run_id=run_id, state=ServedBatch.State.BUILDING
    ).first()
    if batch is None:
        return
    ServedBatch.objects.filter(pk=batch.pk).update(state=ServedBatch.State.ABANDONED)
    get_kind(batch.kind).delete_batch_rows([batch.pk])
