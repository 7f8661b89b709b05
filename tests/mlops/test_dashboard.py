"""The admin dashboard: sales, model health and drift, stock, review queue, live runs."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from catalog.models import Product
from forecasting.models import SalesRecord
from mlops.dashboard.health import model_health
from mlops.dashboard.sparkline import sparkline
from mlops.models import ModelVersion, Run
from mlops.selectors import KIND_METRICS
from tests.admin_support import assert_queries_do_not_grow, count_queries
from tests.factories import (
    CategoryFactory,
    OrderFactory,
    ProductFactory,
    SalesRecordFactory,
    StaffFactory,
)
from tests.forecasting.serving_support import serve_forecast

pytestmark = pytest.mark.django_db

INDEX = "/admin/"


@pytest.fixture(autouse=True)
def fresh_cache():
    """The stock figures are cached; ids repeat from one test to the next."""
    cache.clear()


def days_ago(days: int):
    return timezone.now() - timedelta(days=days)


def champion(kind: str, *, data_end, metrics=None, baselines=None) -> ModelVersion:
    run = Run.objects.create(kind=kind, type=Run.Type.TRAIN, state="succeeded")
    return ModelVersion.objects.create(
        kind=kind,
        version=ModelVersion.objects.filter(kind=kind).count() + 1,
        algorithm="lstm",
        status="champion",
        metrics=metrics or {"mase": 0.8},
        baselines=baselines or {"seasonal_naive": {"mase": 1.1}, "ma": {"mase": 0.9}},
        data_fingerprint={"last_period": str(data_end)},
        trained_at=timezone.now(),
        run=run,
    )


def daily_sales(product, *, first_day_ago: int, last_day_ago: int, units: int):
    today = timezone.localdate()
    SalesRecord.objects.bulk_create(
        SalesRecord(
            product=product,
            period_start=today - timedelta(days=d),
            frequency="D",
            units=Decimal(units),
            price=Decimal("2.00"),
        )
        for d in range(last_day_ago, first_day_ago + 1)
    )


@pytest.mark.postgres
def test_dashboard_shows_sales_of_the_chosen_period(admin_client):
    OrderFactory(total=Decimal("30.00"), placed_at=days_ago(1))
    OrderFactory(total=Decimal("10.00"), placed_at=days_ago(2))
    OrderFactory(total=Decimal("99.00"), placed_at=days_ago(2), status="cancelled")
    OrderFactory(total=Decimal("60.00"), placed_at=days_ago(20))
    mug = ProductFactory(sku="MUG-1", name="Blue mug")
    SalesRecordFactory(product=mug, period_start=timezone.localdate(), units=4)

    week = admin_client.get(INDEX, {"period": "7"}).content.decode()
    month = admin_client.get(INDEX, {"period": "30"}).content.decode()

    assert "40.00 EUR" in week and "20.00 EUR" in week  # revenue, average basket
    assert "100.00 EUR" in month and "3</strong>" in month
    assert "app-catalog module" in week  # the list of apps stays below
    assert "Blue mug" in week and "Daily revenue</title>" in week
    assert 'value="7" selected' in week


def test_sparkline_has_a_text_alternative_and_escapes_labels():
    svg = sparkline([1, 5, 2], label="<b>Mugs</b>")
    assert "<title>&lt;b&gt;Mugs&lt;/b&gt;</title>" in svg
    assert "first 1, highest 5, last 2" in svg
    assert 'role="img"' in svg and "<polyline" in svg
    assert "No data" in sparkline([], label="x")


def test_model_health_puts_the_metric_next_to_the_best_baseline(admin_client):
    champion("demand", data_end=timezone.localdate())

    page = admin_client.get(INDEX).content.decode()

    assert "mase 0.8000" in page and "ma 0.9000" in page  # lower is better: "ma"
    assert "none yet" in page  # the kinds without a champion


@pytest.mark.postgres
def test_drift_is_flagged_when_units_a_day_change_after_training():
    category = CategoryFactory()
    product = ProductFactory(category=category)
    daily_sales(product, first_day_ago=60, last_day_ago=15, units=10)
    daily_sales(product, first_day_ago=14, last_day_ago=0, units=25)
    champion("demand", data_end=timezone.localdate() - timedelta(days=15))
    champion("price", data_end=timezone.localdate() - timedelta(days=2))

    health = {h.kind: h for h in model_health()}

    assert health["demand"].drift.drifted
    assert "+150%" in health["demand"].drift.summary
    assert health["demand"].days_of_new_data == 15
    assert not health["price"].drift.drifted  # two days: too few to judge
    assert "too few" in health["price"].drift.summary


def test_no_drift_when_the_data_looks_like_the_training_data():
    product = ProductFactory()
    daily_sales(product, first_day_ago=60, last_day_ago=0, units=10)
    champion("demand", data_end=timezone.localdate() - timedelta(days=10))

    demand = next(h for h in model_health() if h.kind == "demand")

    assert not demand.drift.drifted and "+0%" in demand.drift.summary


def test_kind_metrics_agree_with_the_kind_specs():
    from mlops.kinds import available_kinds, get_kind

    for kind in available_kinds():
        spec = get_kind(kind)
        assert KIND_METRICS[kind] == (spec.primary_metric, spec.higher_is_better)


def test_dashboard_lists_stock_outs_and_the_review_queue(admin_client):
    low = ProductFactory(sku="LOW-1", stock_tracked=True)
    Product.objects.filter(pk=low.pk).update(stock_on_hand=2)
    serve_forecast(low, [3.0] * 28)
    ProductFactory(auto_category_status="needs_review", category=None)

    page = admin_client.get(INDEX).content.decode()

    assert "LOW-1" in page and "Reorder now</a>: 1 product" in page
    assert "1 product waits for a category decision" in page


def test_stock_figures_follow_the_stock_ledger(admin_client):
    from catalog.services import stock_record_movement

    low = ProductFactory(sku="LOW-1", stock_tracked=True)
    serve_forecast(low, [3.0] * 28)
    assert "Reorder now</a>: 1 product" in admin_client.get(INDEX).content.decode()

    stock_record_movement(product=low, kind="restock", quantity=500)

    assert "Reorder now</a>: 0 products" in admin_client.get(INDEX).content.decode()


def test_panels_say_training_with_progress_until_their_model_serves(admin_client):
    product = ProductFactory(sku="LOW-1", stock_tracked=True)
    train = Run.objects.create(
        kind="demand", type="train", state="running", progress=42, message="epoch 3"
    )
    Run.objects.create(kind="image", type="train", state="queued")

    page = admin_client.get(INDEX).content.decode()

    stock = page.split('id="dashboard-stock"')[1].split("</section>")[0]
    assert "Demand forecast: training…" in stock
    assert f"Training #{train.pk}: 42% · Running · epoch 3" in stock
    review = page.split('id="dashboard-review"')[1].split("</section>")[0]
    assert "Image categories: training…" in review
    health = page.split('id="health-segments"')[1].split("</tr>")[0]
    assert "Customer segments: no model serves yet." in health

    Run.objects.filter(pk=train.pk).update(state="succeeded", progress=100)
    serve_forecast(product, [3.0] * 28)
    cache.clear()
    page = admin_client.get(INDEX).content.decode()
    stock = page.split('id="dashboard-stock"')[1].split("</section>")[0]
    assert "training…" not in stock and "LOW-1" in stock


def test_readiness_endpoint_gives_each_kind_and_its_run(admin_client, client):
    run = Run.objects.create(kind="price", type="infer", state="queued")

    data = admin_client.get(reverse("admin:mlops_run_readiness")).json()

    assert set(data) == {"recommender", "demand", "price", "image", "segments"}
    assert data["demand"] == {"serving": False, "run": None}
    assert data["price"]["run"]["id"] == run.pk
    assert data["price"]["run"]["type"] == "Inference"
    client.force_login(StaffFactory(is_superuser=False))
    assert client.get(reverse("admin:mlops_run_readiness")).status_code == 403


def test_progress_endpoint_returns_runs_as_json(admin_client):
    run = Run.objects.create(
        kind="segments", type="train", state="running", progress=40
    )

    data = admin_client.get(
        reverse("admin:mlops_run_progress"), {"ids": f"{run.pk},x,999"}
    ).json()

    assert data == {
        "runs": [
            {
                "id": run.pk,
                "state": "running",
                "state_display": "Running",
                "progress": 40.0,
                "message": "",
                "eta_seconds": None,
                "finished": False,
            }
        ]
    }


def test_progress_endpoint_is_for_staff_with_permission(client):
    client.force_login(StaffFactory(is_superuser=False))
    assert client.get(reverse("admin:mlops_run_progress")).status_code == 403
    client.logout()
    response = client.get(reverse("admin:mlops_run_progress"))
    assert response.status_code == 302  # to the admin's sign-in page


def test_start_run_queues_through_run_request_on_commit(
    admin_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post(
            reverse("admin:mlops_run_start"),
            {"kind": "segments", "type": "train", "next": "/admin/#dashboard-runs"},
        )

    run = Run.objects.get()
    assert (run.kind, run.type, run.state) == ("segments", "train", "queued")
    assert response.status_code == 302 and response.url == "/admin/#dashboard-runs"
    assert len(callbacks) == 1  # the task is sent once the run is committed
    page = admin_client.get(INDEX).content.decode()
    assert f"training run #{run.pk}</a> of customer segments" in page
    assert f'data-run-id="{run.pk}" data-finished="false"' in page


def test_start_run_refuses_unsafe_next_and_bad_input(admin_client):
    response = admin_client.post(
        reverse("admin:mlops_run_start"),
        {"kind": "demand", "type": "infer", "next": "https://evil.example/"},
    )
    run = Run.objects.get()
    assert response.url == reverse("admin:mlops_run_change", args=[run.pk])
    admin_client.post(reverse("admin:mlops_run_start"), {"kind": "x", "type": "train"})
    assert Run.objects.count() == 1
    assert admin_client.get(reverse("admin:mlops_run_start")).status_code == 405


def test_start_run_needs_the_run_permission(client):
    staff = StaffFactory(is_superuser=False)
    client.force_login(staff)
    url = reverse("admin:mlops_run_start")
    assert client.post(url, {"kind": "demand", "type": "train"}).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="add_run"))
    assert client.post(url, {"kind": "demand", "type": "train"}).status_code == 302
    assert Run.objects.count() == 1


def test_dashboard_without_permissions_shows_only_the_apps(client):
    client.force_login(StaffFactory(is_superuser=False))
    page = client.get(INDEX).content.decode()
    assert "Model health" not in page and "Sales," not in page


@pytest.mark.postgres
def test_dashboard_queries_do_not_grow_with_products_orders_and_runs(
    admin_client, settings
):
    settings.CACHES = {  # measure the stock projection too, not its cached result
        "default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
    }
    category = CategoryFactory()
    for kind in ("demand", "segments"):
        champion(kind, data_end=timezone.localdate() - timedelta(days=10))
    made = {"n": 0}

    def add_rows(count):
        for _ in range(count):
            made["n"] += 1
            product = ProductFactory(category=category, stock_tracked=True)
            daily_sales(product, first_day_ago=40, last_day_ago=0, units=made["n"])
            serve_forecast(product, [1.0] * 28)
            OrderFactory(total=Decimal("5.00"), placed_at=days_ago(made["n"] % 20))
            Run.objects.create(kind="demand", type="infer", state="running")
            Run.objects.create(kind="image", type="train", state="succeeded")

    assert_queries_do_not_grow(admin_client, INDEX, add_rows, few=2, many=12)
    queries, _ = count_queries(admin_client, INDEX + "?period=90")
    assert queries <= 30, queries


# --- The product and customer pages ----------------------------------------------


def test_product_page_retrains_or_reruns_the_models_serving_it(
    admin_client, django_capture_on_commit_callbacks
):
    product = ProductFactory()
    url = reverse("admin:catalog_product_change", args=[product.pk])
    page = admin_client.get(url).content.decode()
    assert "Models serving this product" in page
    assert 'aria-label="Re-run inference: Demand forecast"' in page
    assert 'aria-label="Retrain: Image categories"' in page

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post(
            reverse("admin:mlops_run_start"),
            {"kind": "price", "type": "infer", "next": url},
        )

    assert response.url == url and len(callbacks) == 1
    run = Run.objects.get()
    assert (run.kind, run.type) == ("price", "infer")
    page = admin_client.get(url).content.decode()
    assert reverse("admin:mlops_run_change", args=[run.pk]) in page  # the message


def test_product_page_hides_run_buttons_without_permission(client):
    staff = StaffFactory(is_superuser=False)
    staff.user_permissions.add(*Permission.objects.filter(codename="view_product"))
    client.force_login(staff)
    product = ProductFactory()
    page = client.get(reverse("admin:catalog_product_change", args=[product.pk]))
    assert "Models serving this product" not in page.content.decode()


@pytest.mark.postgres
def test_product_page_queries_do_not_grow_with_lists_and_runs(admin_client):
    from recommender.models import ProductRecommendation
    from tests.recommender.serving_support import serve_list

    product = ProductFactory(stock_tracked=False)
    url = reverse("admin:catalog_product_change", args=[product.pk])
    others = []

    def add_rows(count):
        others.extend(ProductFactory(stock_tracked=False) for _ in range(count))
        ProductRecommendation.objects.filter(product=product).delete()
        for list_name in ("similar", "bought_together"):
            serve_list(product, others, list_name)
        Run.objects.bulk_create(
            Run(kind="demand", type="infer", state="running") for _ in range(count)
        )

    response = assert_queries_do_not_grow(admin_client, url, add_rows, few=2, many=10)
    page = response.content.decode()
    assert "Models serving this product" in page
    assert "served by <a" in page and "nothing served yet" in page


@pytest.mark.postgres
def test_customer_page_shows_rfm_affinities_and_reasons_in_bounded_queries(
    admin_client,
):
    from tests.recommender.segment_support import segment_row, served_segments_batch
    from tests.recommender.serving_support import serve_for

    customer = segment_row(served_segments_batch(), segment="champions").customer
    url = reverse("admin:accounts_user_change", args=[customer.pk])
    serve_for(customer, [ProductFactory(stock_tracked=False) for _ in range(2)])
    admin_client.get(url)
    few, _ = count_queries(admin_client, url)
    from recommender.models import Recommendation

    Recommendation.objects.filter(customer=customer).delete()
    serve_for(customer, [ProductFactory(stock_tracked=False) for _ in range(10)])
    many, response = count_queries(admin_client, url)

    page = response.content.decode()
    assert many == few
    assert '<th scope="row">Recency</th><td>last purchase 5 days ago</td>' in page
    assert "Garden &gt; Tools (75%)" in page and 'value="0.750"' in page
    assert page.count("because ") == 10  # each recommendation with its reason
