"""Batch inference chunks sized by the workers and the catalogue."""

import pytest

from mlops.chunking import inference_chunk_size

SIZING = dict(chunks_per_worker=4, max_cells=50_000_000, smallest=500)


def test_each_worker_gets_several_chunks_when_the_catalogue_is_small():
    one = inference_chunk_size(100_000, workers=1, catalogue=1_000, **SIZING)
    two = inference_chunk_size(100_000, workers=2, catalogue=1_000, **SIZING)
    assert (one, two) == (25_000, 12_500)


def test_a_large_catalogue_caps_the_chunk_by_its_score_matrix():
    size = inference_chunk_size(100_000, workers=2, catalogue=10_000, **SIZING)
    assert size == 5_000  # 5,000 customers × 10,000 products = 50M scores


def test_small_batches_are_not_cut_below_the_smallest_chunk():
    assert inference_chunk_size(1_200, workers=8, catalogue=50, **SIZING) == 500
    assert inference_chunk_size(0, workers=2, catalogue=50, **SIZING) == 500


def test_nonsense_sizing_is_refused_by_name():
    with pytest.raises(ValueError, match="workers must be at least 1"):
        inference_chunk_size(10, workers=0, catalogue=5, **SIZING)


class FakeInspect:
    def __init__(self, queues, stats):
        self._queues, self._stats = queues, stats

    def active_queues(self):
        return self._queues

    def stats(self):
        return self._stats


def test_chunk_workers_counts_the_processes_consuming_the_chunk_queue(
    settings, monkeypatch
):
    from mlops import tasks

    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.MLOPS_INFERENCE_WORKERS = 0
    queues = {
        "a@host1": [{"name": "gpu"}, {"name": "default"}],
        "b@host2": [{"name": "gpu"}],
        "web@host1": [{"name": "default"}],  # takes no chunks
    }
    stats = {
        "a@host1": {"pool": {"max-concurrency": 2}},
        "b@host2": {"pool": {"max-concurrency": 1}},
        "web@host1": {"pool": {"max-concurrency": 8}},
    }
    monkeypatch.setattr(
        tasks.current_app.control,
        "inspect",
        lambda timeout: FakeInspect(queues, stats),
    )
    assert tasks.chunk_workers() == 3
    settings.MLOPS_INFERENCE_WORKERS = 5
    assert tasks.chunk_workers() == 5


def test_chunk_workers_is_one_when_no_worker_answers(settings, monkeypatch):
    from mlops import tasks

    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.MLOPS_INFERENCE_WORKERS = 0
    monkeypatch.setattr(
        tasks.current_app.control, "inspect", lambda timeout: FakeInspect(None, None)
    )
    assert tasks.chunk_workers() == 1
