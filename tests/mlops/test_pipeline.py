"""The whole path of the first model kind: train, gate, register, infer, serve."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from mlops.models import ModelVersion, RegistryEvent, Run, ServedBatch
from mlops.runs import run_request
from recommender.models import ProductRecommendation, Recommendation
from recommender.selectors import recommendations_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


SMALL = {"epochs": 3, "dim": 16}  # a tiny SASRec: these tests are about the platform


def train(**options):
    run = run_request(kind="recommender", type=Run.Type.TRAIN, options=SMALL | options)
    run.refresh_from_db()
    return run


def infer():
    run = run_request(kind="recommender", type=Run.Type.INFER)
    run.refresh_from_db()
    return run


def test_training_registers_the_better_trained_model_and_serves_the_best(shop):
    run = train()

    assert run.state == Run.State.SUCCEEDED, run.error
    assert run.progress == 100
    assert run.device.startswith("tensorflow on CPU")
    trained = ModelVersion.objects.get(run=run)
    both = trained.protocol["trained_models"]
    # buy-again competes where customers re-buy (the automatic repeat policy)
    assert set(both) - {"buy-again"} == {"sasrec", "category-chain", "ease-recent"}
    assert trained.algorithm == max(both, key=lambda name: both[name]["ndcg@10"])
    assert trained.metrics == both[trained.algorithm]
    assert set(trained.baselines) == {
        "popularity",
        "category-popularity",
        "item-knn",
        "ease",
        "als",
    }
    for metrics in [trained.metrics, *trained.baselines.values()]:
        assert set(metrics) == {"hr@10", "ndcg@10", "recall@20", "coverage"}
    champion = ModelVersion.objects.get(kind="recommender", status="champion")
    measured = [trained.metrics, *trained.baselines.values()]
    best = max(m["ndcg@10"] for m in measured)
    assert champion.metrics["ndcg@10"] == best
    if champion != trained:
        assert "the baseline serves" in champion.status_reason
        assert "Lost to baseline" in trained.status_reason
    protocol = trained.protocol
    assert protocol["test_customers"] + protocol["cold_start_customers"] == 40
    assert protocol["tuning_customers"] == protocol["validation_customers"]
    assert protocol["history_removed_share"] == 0.0
    assert protocol["repeat_purchase"]["used"] == "automatic"
    assert trained.data_fingerprint["purchases"] == 240
    assert len(trained.artifact_sha256) == 64
    assert champion.events.filter(action=RegistryEvent.Action.PROMOTED).exists()


def test_second_training_is_gated_against_the_remeasured_champion(shop):
    train()
    champion = ModelVersion.objects.get(kind="recommender", status="champion")
    second_run = train()

    # Same data: nothing measures better than the champion re-measured on it.
    assert ModelVersion.objects.get(kind="recommender", status="champion") == champion
    second = ModelVersion.objects.filter(run=second_run).get()
    assert second.status == ModelVersion.Status.CHALLENGER
    assert second.status_reason


def test_model_report_json_has_the_design_fields(shop, capsys):
    train()
    call_command("model_report", "--json")
    report = json.loads(capsys.readouterr().out)

    assert {e["kind"] for e in report} == {"recommender"}
    assert {e["status"] for e in report} <= {"champion", "challenger"}
    entry = report[0]
    serving = {"serving"} if entry["status"] == "champion" else set()
    assert set(entry) - serving == {
        "kind",
        "version",
        "status",
        "algorithm",
        "trained_at",
        "protocol",
        "metrics",
        "baselines",
    }
    assert set(entry["baselines"]["popularity"]) == set(entry["metrics"])
    champion = next(e for e in report if e["status"] == "champion")
    assert champion["serving"]["rows"] == 0  # nothing inferred yet


def test_inference_serves_top_twenty_without_what_was_bought(shop, settings):
    settings.SHOP_REPEAT_PURCHASE = False  # the shop's setting overrides the data
    users, products = shop
    train()
    run = infer()

    assert run.state == Run.State.SUCCEEDED, run.error
    batch = ServedBatch.objects.get(state=ServedBatch.State.ACTIVE)
    customer = users[0]
    served = list(recommendations_for(customer))
    bought = set(customer.orders.values_list("lines__product_id", flat=True))
    assert [r.rank for r in served] == list(range(1, len(served) + 1))
    assert len(served) == min(20, len(products) - len(bought))
    assert not bought & {r.product_id for r in served}
    assert all(r.batch_id == batch.pk for r in served)
    favourite = products[0].category  # shopper0 favours category 0
    top = [r.product.category for r in served[:5]]
    assert top.count(favourite) >= 3
    assert any(r.reason.startswith("Because you bought ") for r in served)


def test_a_new_inference_swaps_the_whole_set(shop):
    train()
    first = infer()
    first_batch = ServedBatch.objects.get(run=first)
    second = infer()

    first_batch.refresh_from_db()
    assert first_batch.state == ServedBatch.State.SUPERSEDED
    assert not Recommendation.objects.filter(batch=first_batch).exists()
    active = ServedBatch.objects.get(state=ServedBatch.State.ACTIVE)
    assert active.run_id == second.pk
    for_you = Recommendation.objects.filter(batch=active).count()
    lists = ProductRecommendation.objects.filter(batch=active).count()
    assert for_you > 0 and lists > 0
    assert for_you + lists == active.rows


def test_training_without_enough_history_fails_with_a_clear_error(db):
    run = train()
    assert run.state == Run.State.FAILED
    assert "Not enough purchase history" in run.message
    assert run.attempts >= 1
    assert not ModelVersion.objects.exists()


def test_new_customer_gets_popular_products_and_deleting_them_removes_the_list(shop):
    newcomer = get_user_model().objects.create_user("newcomer")
    train()
    infer()

    served = list(recommendations_for(newcomer))
    assert len(served) == 20
    assert {r.reason for r in served} == {"Popular right now"}
    newcomer.delete()  # no database foreign key on served rows: Django cascades
    assert not Recommendation.objects.filter(customer_id=newcomer.pk).exists()
