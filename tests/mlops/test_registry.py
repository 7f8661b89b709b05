"""The registry: artifacts, the champion gate, promotion, rollback and the loader."""

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from mlops.kinds import Candidate, TrainingOutcome
from mlops.loader import ModelLoader
from mlops.models import ModelVersion, RegistryEvent, Run
from mlops.registry import (
    RegistryError,
    artifact_read,
    version_promote,
    version_register,
    version_rollback,
)
from mlops.storage import artifact_storage
from recommender.ml.popularity import RecentPopularity
from recommender.mlkind import RecommenderKind

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def popularity_bytes(scores) -> bytes:
    model = RecentPopularity(30.0, np.asarray(scores, dtype=float))
    return model.to_bytes(product_ids=np.arange(len(scores)), category_ids=np.zeros(1))


def outcome(model_ndcg, baseline_ndcg, champion_ndcg=None) -> TrainingOutcome:
    def candidate(name, ndcg, scores):
        metrics = {"hr@10": ndcg, "ndcg@10": ndcg, "recall@20": ndcg, "coverage": 0.5}
        return Candidate(
            "recent-popularity",
            metrics,
            popularity_bytes(scores),
            hyperparameters={"half_life_days": 30.0, "name": name},
        )

    return TrainingOutcome(
        model=candidate("model", model_ndcg, [0.2, 0.8]),
        baselines={"popularity": candidate("baseline", baseline_ndcg, [0.6, 0.4])},
        protocol={"name": "leave-last-out"},
        data_fingerprint={"rows": 10},
        champion_metrics=None if champion_ndcg is None else {"ndcg@10": champion_ndcg},
    )


def register(result: TrainingOutcome) -> ModelVersion:
    run = Run.objects.create(kind="recommender", type=Run.Type.TRAIN)
    return version_register(
        spec=RecommenderKind(),
        run=run,
        outcome=result,
        seed=1,
        device="cpu",
        trained_at=timezone.now(),
        training_seconds=1.0,
    )


def champion() -> ModelVersion:
    return ModelVersion.objects.get(kind="recommender", status="champion")


def test_model_that_beats_baseline_becomes_first_champion():
    version = register(outcome(0.30, 0.20))
    assert version.status == "champion"
    assert version.version == 1
    assert artifact_read(version) == popularity_bytes([0.2, 0.8])


def test_model_that_loses_to_baseline_is_kept_and_the_baseline_serves():
    version = register(outcome(0.10, 0.20))

    version.refresh_from_db()
    assert version.status == "challenger"
    assert "Lost to baseline popularity" in version.status_reason
    served = champion()
    assert served.pk != version.pk
    assert served.metrics["ndcg@10"] == 0.20
    assert served.baselines["recent-popularity"]["ndcg@10"] == 0.10
    assert "the baseline serves" in served.status_reason


def test_challenger_must_beat_the_remeasured_champion_too():
    first = register(outcome(0.30, 0.20))
    second = register(outcome(0.31, 0.20, champion_ndcg=0.32))

    assert champion() == first
    assert second.status == "challenger"
    assert "Did not beat the current champion v1" in second.status_reason
    third = register(outcome(0.35, 0.20, champion_ndcg=0.32))
    assert champion() == third
    first.refresh_from_db()
    assert first.status == "retired"


def test_registration_is_idempotent_per_run():
    run = Run.objects.create(kind="recommender", type=Run.Type.TRAIN)
    args = dict(
        spec=RecommenderKind(),
        run=run,
        outcome=outcome(0.3, 0.2),
        seed=1,
        device="cpu",
        trained_at=timezone.now(),
        training_seconds=1.0,
    )
    assert version_register(**args) == version_register(**args)
    assert ModelVersion.objects.count() == 1


def test_staff_promote_and_rollback_are_audited(staff):
    first = register(outcome(0.30, 0.20))
    second = register(outcome(0.25, 0.20, champion_ndcg=0.30))

    version_promote(version=second, user=staff, reason="better on the A/B test")
    assert champion() == second
    back = version_rollback(kind="recommender", user=staff, reason="complaints")
    assert back == first == champion()
    trail = RegistryEvent.objects.filter(user=staff).values_list("action", flat=True)
    assert set(trail) >= {"promoted", "rolled_back", "retired"}
    with pytest.raises(RegistryError, match="Say why"):
        version_promote(version=second, user=staff, reason=" ")


def test_rollback_without_an_earlier_champion_is_refused(staff):
    register(outcome(0.30, 0.20))
    with pytest.raises(RegistryError, match="No earlier"):
        version_rollback(kind="recommender", user=staff, reason="why not")


def test_loader_notices_a_promotion_and_checks_the_checksum(staff):
    loader = ModelLoader()
    first = register(outcome(0.30, 0.20))
    version, model = loader.get("recommender")
    assert version == first
    assert loader.get("recommender")[1] is model  # cached

    second = register(outcome(0.25, 0.20, champion_ndcg=0.30))
    version_promote(version=second, user=staff, reason="manual")
    version, model = loader.get("recommender")
    assert version == second
    assert list(model.model.scores) == [0.2, 0.8]

    second.artifact_sha256 = "0" * 64
    loader.clear()
    with pytest.raises(RegistryError, match="corrupt"):
        loader.get_version(second)


def test_artifact_storage_never_overwrites_a_name():
    storage = artifact_storage()
    first = storage.save("recommender/same.npz", ContentFile(b"one"))
    second = storage.save("recommender/same.npz", ContentFile(b"two"))
    assert first != second
    assert storage.open(first).read() == b"one"
    assert storage.open(second).read() == b"two"


def test_a_write_that_fails_midway_leaves_no_file(monkeypatch):
    storage = artifact_storage()

    class Exploding(ContentFile):
        def chunks(self, chunk_size=None):
            yield b"half of it"
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        storage.save("recommender/broken.npz", Exploding(b"x" * 100))
    folder = storage.path("recommender")
    assert not storage.exists("recommender/broken.npz")
    import os

    assert not [
        name for name in os.listdir(folder) if "broken" in name or "partial" in name
    ]
