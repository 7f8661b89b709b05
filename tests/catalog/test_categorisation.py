"""Automatic categories: the auto-assign policy, reviews, the queue, training data."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction

from catalog.categorisation import (
    CategoryPrediction,
    apply_prediction,
    apply_predictions_bulk,
    category_by_id_or_path,
    predictions_from_proba,
    product_category_set_by_operator,
    review_accept,
    review_accept_bulk,
    review_override,
    review_queue,
    training_examples,
)
from catalog.models import CategoryDecision, Product
from catalog.services import product_image_add
from tests.admin_support import png_bytes
from tests.catalog.categorisation_support import (
    image_version,
    leaf_categories,
    queued_product,
    suggestions,
)
from tests.factories import CustomerFactory, ProductFactory, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def leaves():
    return leaf_categories(3)


@pytest.fixture
def version():
    return image_version(1)


def predict(product, leaves, version, confidence, threshold=0.9):
    return apply_prediction(
        product=product,
        suggestions=suggestions(leaves, [confidence, 1 - confidence - 0.01, 0.01]),
        confidence=confidence,
        version=version,
        threshold=threshold,
    )


def test_a_confident_prediction_is_assigned_automatically(leaves, version):
    product = ProductFactory(category=None, category_source="none")

    predict(product, leaves, version, confidence=0.95)

    assert product.category == leaves[0]
    assert product.category_source == "automatic"
    assert product.auto_category_status == "auto_assigned"
    assert (product.auto_category, product.auto_category_confidence) == (
        leaves[0],
        0.95,
    )
    assert product.auto_category_version == version
    assert [s["category"] for s in product.auto_category_suggestions] == [
        c.pk for c in leaves
    ]
    assert product.auto_categorised_at is not None
    decision = CategoryDecision.objects.get(product=product)
    assert (decision.action, decision.category, decision.user) == (
        "auto_assigned",
        leaves[0],
        None,
    )
    assert decision.model_version == version and decision.confidence == 0.95


def test_an_unsure_prediction_goes_to_the_review_queue(leaves, version):
    product = ProductFactory(category=None, category_source="none")

    predict(product, leaves, version, confidence=0.6)

    assert product.category is None
    assert product.auto_category_status == "needs_review"
    assert list(review_queue()) == [product]
    decision = CategoryDecision.objects.get(product=product)
    assert (decision.action, decision.category) == ("queued", None)
    assert decision.suggestions == product.auto_category_suggestions


def test_a_threshold_of_none_never_assigns(leaves, version):
    product = predict(
        ProductFactory(category=None), leaves, version, 0.999, threshold=None
    )

    assert product.auto_category_status == "needs_review"


@pytest.mark.parametrize("source", ["operator", "imported"])
def test_a_category_a_person_set_is_never_overwritten(leaves, version, source):
    product = ProductFactory(category=leaves[2], category_source=source)

    predict(product, leaves, version, confidence=0.99)

    assert (product.category, product.category_source) == (leaves[2], source)
    assert product.auto_category == leaves[0]  # kept as the model's opinion
    assert product.auto_category_status == "none"
    assert not CategoryDecision.objects.exists()
    assert not review_queue().exists()


def test_an_automatic_category_is_replaced_by_a_newer_prediction(leaves, version):
    product = predict(ProductFactory(category=None), leaves, version, 0.95)
    newer = image_version(2)

    apply_prediction(
        product=product,
        suggestions=suggestions([leaves[1], leaves[0], leaves[2]], [0.97, 0.02, 0.01]),
        confidence=0.97,
        version=newer,
        threshold=0.9,
    )

    assert (product.category, product.auto_category_version) == (leaves[1], newer)
    assert product.category_decisions.count() == 2


def test_applying_the_same_prediction_twice_changes_nothing(leaves, version):
    product = ProductFactory(category=None)
    prediction = CategoryPrediction(
        product.pk, suggestions(leaves, [0.6, 0.3, 0.1]), 0.6, 0.9
    )
    apply_predictions_bulk([prediction], version=version)
    before = Product.objects.get(pk=product.pk).auto_categorised_at

    counts = apply_predictions_bulk([prediction], version=version)

    assert counts["unchanged"] == 1 and counts["queued"] == 0
    assert CategoryDecision.objects.count() == 1
    assert Product.objects.get(pk=product.pk).auto_categorised_at == before


def test_unknown_categories_and_products_are_skipped(leaves, version):
    product = ProductFactory(category=None)
    gone = leaves[0].pk + 1000

    counts = apply_predictions_bulk(
        [
            CategoryPrediction(product.pk, [{"category": gone, "confidence": 1}], 1, 0),
            CategoryPrediction(product.pk + 999, suggestions(leaves, [1, 0, 0]), 1, 0),
        ],
        version=version,
    )

    assert counts["missing"] == 2
    assert Product.objects.get(pk=product.pk).auto_category_status == "none"


def test_bulk_predictions_run_in_few_queries_per_chunk(
    leaves, version, django_assert_max_num_queries
):
    products = ProductFactory.create_batch(60, category=None)
    predictions = [
        CategoryPrediction(
            p.pk, suggestions(leaves, [0.5 + i / 200, 0.2, 0.1]), 0.5 + i / 200, 0.7
        )
        for i, p in enumerate(products)
    ]

    # Per chunk: products, categories, bulk update, decisions (SQLite splits the
    # update into batches of ~90 rows), plus the transaction's savepoint.
    with django_assert_max_num_queries(8):
        counts = apply_predictions_bulk(predictions, version=version)

    assert counts["auto_assigned"] == 20 and counts["queued"] == 40
    assert CategoryDecision.objects.count() == 60


def test_numpy_numbers_from_the_model_are_stored_as_plain_json(leaves, version):
    product = ProductFactory(category=None)
    row = np.array([0.75, 0.2, 0.05], dtype=np.float32)

    apply_predictions_bulk(
        predictions_from_proba(
            np.array([product.pk]),
            row[None, :],
            np.array([c.pk for c in leaves]),
            np.array([0.7, 0.7, 0.7]),
        ),
        version=version,
    )

    product.refresh_from_db()
    assert product.auto_category_suggestions[0] == {
        "category": leaves[0].pk,
        "confidence": 0.75,
    }
    assert product.category == leaves[0]


def test_predictions_from_proba_keep_the_top_three_and_their_threshold(leaves):
    proba = np.array([[0.1, 0.7, 0.15, 0.05], [0.05, 0.05, 0.1, 0.8]])
    ids = [c.pk for c in leaves] + [999]

    first, second = predictions_from_proba(
        [10, 11], proba, ids, np.array([0.5, 0.6, 0.9, np.inf])
    )

    assert [s["category"] for s in first.suggestions] == [ids[1], ids[2], ids[0]]
    assert (first.confidence, first.threshold) == (0.7, 0.6)
    assert (second.product_id, second.threshold) == (11, None)


def test_accepting_makes_the_suggestion_the_operators_category(leaves, version):
    product = queued_product(leaves, version)
    staff = StaffFactory()

    review_accept(product=product, user=staff)
    review_accept(product=product, user=staff)  # a double click adds nothing

    product.refresh_from_db()
    assert (product.category, product.category_source) == (leaves[0], "operator")
    assert product.auto_category_status == "accepted"
    decision = product.category_decisions.get(action="accepted")
    assert (decision.user, decision.category, decision.model_version) == (
        staff,
        leaves[0],
        version,
    )
    assert decision.suggestions == product.auto_category_suggestions
    assert not review_queue().exists()


def test_accepting_without_a_suggestion_is_refused():
    with pytest.raises(ValidationError, match="no automatic category"):
        review_accept(product=ProductFactory(), user=StaffFactory())


def test_overriding_records_the_operators_choice(leaves, version):
    product = queued_product(leaves, version)
    staff = StaffFactory()

    review_override(product=product, category=leaves[2], user=staff)

    product.refresh_from_db()
    assert (product.category, product.category_source) == (leaves[2], "operator")
    assert product.auto_category_status == "overridden"
    decision = product.category_decisions.get(action="overridden")
    assert decision.category == leaves[2] and decision.user == staff
    # The model never takes it back, however sure it is.
    predict(product, leaves, image_version(2), confidence=0.999)
    assert product.category == leaves[2]


def test_overriding_with_the_top_suggestion_counts_as_accepting(leaves, version):
    product = queued_product(leaves, version)

    review_override(product=product, category=leaves[0], user=StaffFactory())

    assert product.category_decisions.filter(action="accepted").count() == 1


def test_bulk_accept_skips_products_without_an_open_suggestion(
    leaves, version, django_assert_max_num_queries
):
    queued = [queued_product(leaves, version) for _ in range(5)]
    operators = ProductFactory(category=leaves[1])
    unclassified = ProductFactory(category=None)
    ids = [p.pk for p in [*queued, operators, unclassified]]
    staff = StaffFactory()

    with django_assert_max_num_queries(6):
        accepted = review_accept_bulk(
            products=Product.objects.filter(pk__in=ids), user=staff
        )

    assert accepted == 5
    assert set(
        Product.objects.filter(pk__in=ids, category=leaves[0]).values_list(
            "pk", flat=True
        )
    ) == {p.pk for p in queued}
    assert CategoryDecision.objects.filter(action="accepted").count() == 5
    operators.refresh_from_db()
    assert operators.category == leaves[1]


def test_review_queue_is_most_confident_first(leaves, version):
    unsure = ProductFactory(category=None)
    surer = ProductFactory(category=None)
    predict(unsure, leaves, version, 0.4)
    predict(surer, leaves, version, 0.8)
    predict(ProductFactory(category=None), leaves, version, 0.95)  # assigned

    assert list(review_queue()) == [surer, unsure]


def test_a_category_set_by_hand_records_a_decision(leaves, version):
    product = queued_product(leaves, version)
    staff = StaffFactory()
    product.category = leaves[1]
    product.save()

    product_category_set_by_operator(product=product, user=staff)

    product.refresh_from_db()
    assert (product.category_source, product.auto_category_status) == (
        "operator",
        "overridden",
    )
    assert product.category_decisions.filter(user=staff).exists()


def test_training_examples_are_categories_people_set(leaves, version):
    operator = ProductFactory(category=leaves[0], name="Blue shirt")
    imported = ProductFactory(category=leaves[1], category_source="imported")
    reviewed = queued_product(leaves, version)
    review_override(product=reviewed, category=leaves[2], user=CustomerFactory())
    automatic = predict(ProductFactory(category=None), leaves, version, 0.99)
    queued = queued_product(leaves, version)
    no_image = ProductFactory(category=leaves[0])
    for i, product in enumerate([operator, imported, reviewed, automatic, queued]):
        product_image_add(product=product, raw=png_bytes(i))

    rows = {row["id"]: row for row in training_examples()}

    assert set(rows) == {operator.pk, imported.pk, reviewed.pk}
    assert rows[operator.pk]["title"] == "Blue shirt"
    assert rows[operator.pk]["category_path"] == leaves[0].path
    assert rows[reviewed.pk]["category_id"] == leaves[2].pk
    assert [rows[p.pk]["reviewed"] for p in (operator, reviewed)] == [False, True]
    assert rows[operator.pk]["image_path"] == operator.images.get().image.name
    everything = training_examples(require_image=False)
    assert no_image.pk in {row["id"] for row in everything}


def test_categories_are_found_by_id_or_path(leaves):
    assert category_by_id_or_path(leaves[1].pk) == leaves[1]
    assert category_by_id_or_path(str(leaves[1].pk)) == leaves[1]
    assert category_by_id_or_path("Clothing>Leaf 2") == leaves[2]
    with pytest.raises(ValidationError, match="No category has id"):
        category_by_id_or_path(leaves[2].pk + 100)
    with pytest.raises(ValidationError, match="No category has the path"):
        category_by_id_or_path("Clothing > Hats")
    with pytest.raises(ValidationError, match="Give a category"):
        category_by_id_or_path(None)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_batch_inference_waits_for_an_operators_decision_in_flight():
    assert connection.vendor == "postgresql"
    leaves = leaf_categories(3)
    version = image_version(1)
    product = queued_product(leaves, version)
    staff = StaffFactory()
    decided = threading.Event()
    inference_started = threading.Event()

    def operator():
        try:
            with transaction.atomic():
                review_override(product=product, category=leaves[2], user=staff)
                decided.set()
                inference_started.wait(5)
                time.sleep(0.3)  # inference is now blocked on the row lock
        finally:
            connections.close_all()

    def inference():
        decided.wait(5)
        inference_started.set()
        try:
            return apply_predictions_bulk(
                [
                    CategoryPrediction(
                        product.pk, suggestions(leaves, [1, 0, 0]), 1, 0.5
                    )
                ],
                version=image_version(2),
            )
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=2) as pool:
        pool.submit(operator)
        counts = pool.submit(inference).result(timeout=20)

    product.refresh_from_db()
    assert counts["kept"] == 1
    assert (product.category, product.category_source) == (leaves[2], "operator")


def test_an_unusual_input_goes_to_review_with_its_reason():
    from catalog.categorisation import CategoryPrediction, apply_predictions_bulk
    from tests.catalog.categorisation_support import (
        image_version,
        leaf_categories,
        suggestions,
    )

    leaves = leaf_categories(3)
    version = image_version(1)
    sure, odd, coded = (
        ProductFactory(sku=sku, category=None, category_source="none")
        for sku in ("SURE", "ODD", "CODED")
    )
    counts = apply_predictions_bulk(
        [
            CategoryPrediction(
                sure.pk, suggestions(leaves, [0.97, 0.02, 0.01]), 0.97, 0.9
            ),
            CategoryPrediction(
                odd.pk,
                suggestions(leaves, [0.97, 0.02, 0.01]),
                0.97,
                0.9,
                reason="picture unlike every training picture",
            ),
            CategoryPrediction(
                coded.pk,
                suggestions(leaves, [0.7, 0.2, 0.1]),
                0.7,
                0.8,
                kind="unnamed",
            ),
        ],
        version=version,
    )
    assert counts["auto_assigned"] == 1 and counts["queued"] == 2
    for product in (sure, odd, coded):
        product.refresh_from_db()
    assert sure.auto_category_status == "auto_assigned"
    assert sure.auto_category_reason == ""
    assert odd.auto_category_status == "needs_review"
    assert odd.auto_category_reason == "picture unlike every training picture"
    assert coded.auto_category_reason == (
        "confidence 70% below the category's threshold 80% (picture only: the name "
        "says nothing the model knows)"
    )
    decision = CategoryDecision.objects.get(product=odd)
    assert decision.action == "queued"
