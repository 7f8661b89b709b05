"""Automatic categories: apply the image model's predictions, review them, learn.

Services (writes) apply predictions from batch inference or the classification task
and record the operators' review decisions; selectors (reads) give the review queue
and the training examples. Every decision is written to `CategoryDecision`.

Rules: a category a person set (`Product.category_set_by_person`) is never
overwritten; a prediction at or above its category's threshold is assigned
automatically; one below it goes to the review queue.
"""

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from PIL import Image

from ecomsite.numbers import parse_whole_number
from mlops.bulk import bulk_insert
from mlops.models import ModelKind, ModelVersion

from .ml.similarity import nearest_neighbours, unit_rows, vector_bytes
from .models import (
    CATEGORY_PATH_SEPARATOR,
    Category,
    CategoryDecision,
    Product,
    ProductImage,
    ProductImageEmbedding,
    VisuallySimilarProduct,
)
from .selectors import image_embedding_matrix

logger = logging.getLogger(__name__)

Source = Product.CategorySource
Status = Product.AutoCategoryStatus
Action = CategoryDecision.Action
TOP_SUGGESTIONS = 3
CHUNK_SIZE = 1000
PERSON_SOURCES = (Source.OPERATOR, Source.IMPORTED)
PREDICTION_FIELDS = [
    "category",
    "category_source",
    "auto_category",
    "auto_category_confidence",
    "auto_category_status",
    "auto_category_version",
    "auto_category_suggestions",
    "auto_category_reason",
    "auto_categorised_at",
    "updated_at",
]


@dataclass(frozen=True)
class CategoryPrediction:
    """What the model says about one product.

    `suggestions` are the top categories, best first, as stored:
    `[{"category": id, "confidence": 0.93}, …]`; `threshold` is the auto-assign
    threshold of the top one (None: never auto-assign). `reason` (not empty) sends
    the product to review whatever its confidence; `kind` is the kind of its name
    (`ml.safety`: named, unnamed or mixed), which chose the threshold.
    """

    product_id: int
    suggestions: list[dict]
    confidence: float
    threshold: float | None
    reason: str = ""
    kind: str = ""


def suggestions_from_proba(
    proba_row: Sequence[float], class_category_ids: Sequence[int]
) -> list[dict]:
    """Return the top three `{"category", "confidence"}` of one row of probabilities."""
    ranked = sorted(range(len(proba_row)), key=lambda i: -float(proba_row[i]))
    return [
        {"category": int(class_category_ids[i]), "confidence": float(proba_row[i])}
        for i in ranked[:TOP_SUGGESTIONS]
    ]


def predictions_from_proba(
    product_ids: Sequence[int],
    proba,
    class_category_ids: Sequence[int],
    thresholds,
    *,
    reasons: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
) -> list[CategoryPrediction]:
    """Turn model output `[n, k]` and thresholds into predictions.

    `thresholds` are per class, `[k]`, or per product and class, `[n, k]`;
    `class_category_ids[j]` is the category of class `j`; an infinite threshold
    means the class is never assigned automatically. `reasons` send products to
    review; `kinds` say which kind of name chose their thresholds.
    """
    thresholds = np.asarray(thresholds, dtype=np.float64)
    predictions = []
    for row_index, (product_id, row) in enumerate(zip(product_ids, proba, strict=True)):
        suggestions = suggestions_from_proba(row, class_category_ids)
        top = int(max(range(len(row)), key=lambda i: float(row[i])))
        cut = thresholds[row_index] if thresholds.ndim == 2 else thresholds
        threshold = float(cut[top])
        predictions.append(
            CategoryPrediction(
                product_id=int(product_id),
                suggestions=suggestions,
                confidence=suggestions[0]["confidence"],
                threshold=threshold if threshold != float("inf") else None,
                reason=reasons[row_index] if reasons is not None else "",
                kind=kinds[row_index] if kinds is not None else "",
            )
        )
    return predictions


def review_reason(prediction: CategoryPrediction, confidence: float) -> str:
    """Return why a prediction is not auto-assigned ("" where it is)."""
    picture_only = (
        " (picture only: the name says nothing the model knows)"
        if prediction.kind == "unnamed"
        else ""
    )
    if prediction.reason:
        return prediction.reason[:255]
    if prediction.threshold is None:
        return (
            "this category is never filed automatically: too few validation "
            f"products reached the target precision{picture_only}"
        )[:255]
    if confidence < prediction.threshold:
        return (
            f"confidence {confidence:.0%} below the category's threshold "
            f"{prediction.threshold:.0%}{picture_only}"
        )[:255]
    return ""


# --- Services: the model's side --------------------------------------------------


def apply_prediction(
    *,
    product: Product,
    suggestions: list[dict],
    confidence: float,
    version: ModelVersion | None,
    threshold: float | None,
) -> Product:
    """Apply one prediction to a product (see `apply_predictions_bulk`); return it."""
    apply_predictions_bulk(
        [CategoryPrediction(product.pk, suggestions, confidence, threshold)],
        version=version,
    )
    product.refresh_from_db()
    return product


def apply_predictions_bulk(
    predictions: Iterable[CategoryPrediction],
    *,
    version: ModelVersion | None,
    chunk_size: int = CHUNK_SIZE,
) -> dict[str, int]:
    """Apply predictions in chunks: four queries and one transaction per chunk.

    Each product stores what the model said. Above its threshold, a product whose
    category no person set gets it automatically; below, it is queued for review.
    A person's category is kept (the prediction is stored as an opinion only); an
    automatic one stays while its product waits for review under a newer, less sure
    prediction. Applying the same prediction of the same version changes nothing.
    Return counts: `auto_assigned`, `queued`, `kept` (person's category),
    `unchanged` and `missing` (products or categories gone).
    """
    counts = dict.fromkeys(
        ["auto_assigned", "queued", "kept", "unchanged", "missing"], 0
    )
    chunk: list[CategoryPrediction] = []
    for prediction in predictions:
        chunk.append(prediction)
        if len(chunk) >= chunk_size:
            _apply_chunk(chunk, version, counts)
            chunk = []
    if chunk:
        _apply_chunk(chunk, version, counts)
    return counts


@transaction.atomic
def _apply_chunk(
    chunk: list[CategoryPrediction], version: ModelVersion | None, counts: dict
) -> None:
    ids = [int(p.product_id) for p in chunk]
    # Locked in id order, so that a review decision cannot slip in between.
    products = {
        product.pk: product
        for product in Product.objects.select_for_update()
        .filter(pk__in=ids)
        .order_by("pk")
        .only("pk", "category", "category_source", *PREDICTION_FIELDS[2:])
    }
    wanted = {int(s["category"]) for p in chunk for s in p.suggestions}
    known = set(Category.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    now = timezone.now()
    changed, decisions = [], []
    for prediction in chunk:
        product = products.get(int(prediction.product_id))
        # Plain ints and floats (not NumPy's), rounded, so that JSON stores them and
        # the same prediction compares equal when it comes again.
        suggestions = [
            {
                "category": int(s["category"]),
                "confidence": round(float(s["confidence"]), 6),
            }
            for s in prediction.suggestions[:TOP_SUGGESTIONS]
            if int(s["category"]) in known
        ]
        if product is None or not suggestions:
            counts["missing"] += 1
            continue
        confidence = min(1.0, max(0.0, float(prediction.confidence)))
        version_id = version.pk if version else None
        if (
            product.auto_category_version_id == version_id
            and product.auto_category_suggestions == suggestions
            and product.auto_categorised_at is not None
        ):
            counts["unchanged"] += 1
            continue
        top = suggestions[0]["category"]
        product.auto_category_id = top
        product.auto_category_confidence = confidence
        product.auto_category_version_id = version_id
        product.auto_category_suggestions = suggestions
        product.auto_categorised_at = now
        product.updated_at = now
        changed.append(product)
        if product.category_set_by_person:
            counts["kept"] += 1
            continue
        product.auto_category_reason = review_reason(prediction, confidence)
        assign = not product.auto_category_reason
        if assign:
            product.category_id = top
            product.category_source = Source.AUTOMATIC
            product.auto_category_status = Status.AUTO_ASSIGNED
        else:
            product.auto_category_status = Status.NEEDS_REVIEW
        counts["auto_assigned" if assign else "queued"] += 1
        decisions.append(
            CategoryDecision(
                product_id=product.pk,
                action=Action.AUTO_ASSIGNED if assign else Action.QUEUED,
                category_id=top if assign else None,
                suggestions=suggestions,
                confidence=confidence,
                model_version_id=version_id,
                decided_at=now,
            )
        )
    product_rows_update(changed, PREDICTION_FIELDS)
    CategoryDecision.objects.bulk_create(decisions, batch_size=CHUNK_SIZE)


UPDATE_BATCH_ROWS = 500


def product_rows_update(products: list[Product], field_names: list[str]) -> None:
    """Write these fields of many products: one `UPDATE … FROM (VALUES …)` per 500.

    Django's `bulk_update` builds a CASE per row and field, which costs seconds per
    thousand rows; this is one joined update on both PostgreSQL and SQLite (3.33+).
    Callers hold the rows locked, so writing back whole values is safe.
    """
    fields = [Product._meta.get_field(name) for name in field_names]
    quote = connection.ops.quote_name
    table = quote(Product._meta.db_table)
    # PostgreSQL types the VALUES columns from their literals (a column of NULLs is
    # text), so each is cast to its field's type; SQLite needs no cast.
    cast = connection.vendor == "postgresql"
    assignments = ", ".join(
        f"{quote(field.column)} = "
        + (
            f"CAST(v.column{i + 2} AS {field.db_type(connection)})"
            if cast
            else f"v.column{i + 2}"
        )
        for i, field in enumerate(fields)
    )
    row_sql = f"({', '.join(['%s'] * (len(fields) + 1))})"
    for start in range(0, len(products), UPDATE_BATCH_ROWS):
        batch = products[start : start + UPDATE_BATCH_ROWS]
        params = [
            value
            for product in batch
            for value in (
                product.pk,
                *(
                    field.get_db_prep_save(getattr(product, field.attname), connection)
                    for field in fields
                ),
            )
        ]
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET {assignments} "
                f"FROM (VALUES {', '.join([row_sql] * len(batch))}) AS v "
                f"WHERE {table}.{quote(Product._meta.pk.column)} = v.column1",
                params,
            )


# Errors of one bad picture: unreadable, truncated, missing, or a decompression bomb.
DECODE_ERRORS = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)


def products_classify(*, product_ids: Iterable[int]) -> int:
    """Classify products with the image champion, if there is one; return how many.

    Products gone or whose category a person set are not classified. The champion's
    `classify(products)` applies its predictions; where it has `embed_products`, the
    image embeddings of the products whose category a person set are stored too,
    and the visually similar lists of all of them recomputed. A picture that cannot
    be decoded never fails the others: the batch is retried one product at a time
    and the bad one is logged and left as it was.
    """
    if not image_champion_exists():
        return 0
    from mlops.loader import champions  # here: the loader brings in every model kind

    version, model = champions.get(ModelKind.IMAGE)
    if model is None:
        return 0
    products = list(Product.objects.filter(pk__in=list(product_ids)).order_by("pk"))
    filed = [p for p in products if is_person_set(p)]
    unfiled = [p for p in products if not is_person_set(p)]
    classified = _each_picture(model.classify, unfiled)
    embed = getattr(model, "embed_products", None)
    if embed is not None and version is not None:
        _each_picture(lambda some: embed(some, version=version), filed)
        visually_similar_refresh(version=version, product_ids=[p.pk for p in products])
    return classified


def _each_picture(read, products: list[Product]) -> int:
    """Call `read(products)`; on a bad picture, one by one. Return how many read."""
    if not products:
        return 0
    try:
        read(products)
        return len(products)
    except DECODE_ERRORS:
        logger.warning("A picture failed to decode; reading them one by one.")
    done = 0
    for product in products:
        try:
            read([product])
        except DECODE_ERRORS as exc:
            logger.warning(
                "Could not classify %s: its picture failed to decode (%s: %s).",
                product.sku,
                type(exc).__name__,
                exc,
            )
        else:
            done += 1
    return done


def is_person_set(product: Product) -> bool:
    """Return whether a person set this product's category (see `person_set_category`)."""
    return product.category_id is not None and product.category_source in (
        PERSON_SOURCES
    )


# --- Services: image embeddings and visually similar products ----------------------

VISUALLY_SIMILAR_N = 20
SIMILAR_BLOCK = 1024  # products whose lists are computed and written together


def image_embeddings_store(
    product_ids: Sequence[int], vectors: np.ndarray, *, version: ModelVersion
) -> int:
    """Store each product's image embedding, L2-normalised (one row per product).

    Storing the same again only refreshes `updated_at`; return how many were written.
    """
    now = timezone.now()
    rows = [
        ProductImageEmbedding(
            product_id=int(product_id),
            model_version_id=version.pk,
            vector=vector_bytes(vector),
            updated_at=now,
        )
        for product_id, vector in zip(product_ids, unit_rows(vectors), strict=True)
    ]
    ProductImageEmbedding.objects.bulk_create(
        rows,
        batch_size=CHUNK_SIZE,
        update_conflicts=True,
        unique_fields=["product"],
        update_fields=["model_version", "vector", "updated_at"],
    )
    return len(rows)


def visually_similar_refresh(
    *,
    version: ModelVersion,
    product_ids: Iterable[int] | None = None,
    n: int = VISUALLY_SIMILAR_N,
) -> int:
    """Recompute products' "visually similar" lists from the version's embeddings.

    Each product gets the `n` products whose image embeddings have the highest
    cosine with its own, never itself; all products with an embedding of the
    version when `product_ids` is None, and then the lists of products without one
    are dropped. A product's rows are replaced together, one transaction per block.
    Return the number of rows written.
    """
    ids, vectors = image_embedding_matrix(version_id=version.pk)
    if product_ids is None:
        VisuallySimilarProduct.objects.exclude(
            product__image_embedding__model_version=version
        ).delete()
        rows = np.arange(len(ids))
    else:
        wanted = np.asarray(sorted(set(product_ids)), dtype=np.int64)
        rows = np.flatnonzero(np.isin(ids, wanted))
    written = 0
    for start in range(0, len(rows), SIMILAR_BLOCK):
        block = rows[start : start + SIMILAR_BLOCK]
        neighbours, scores = nearest_neighbours(
            vectors[block], vectors, n, query_rows=block
        )
        entries = [
            (int(ids[row]), rank + 1, int(ids[other]), float(score), version.pk)
            for row, others, row_scores in zip(
                block.tolist(), neighbours.tolist(), scores.tolist(), strict=True
            )
            for rank, (other, score) in enumerate(zip(others, row_scores, strict=True))
            if other >= 0
        ]
        with transaction.atomic():
            VisuallySimilarProduct.objects.filter(
                product_id__in=ids[block].tolist()
            ).delete()
            written += bulk_insert(
                VisuallySimilarProduct,
                ["product", "rank", "similar", "score", "model_version"],
                entries,
            )
    return written


def image_embeddings_prune() -> int:
    """Drop the embeddings of products that have no picture any more; return how many."""
    gone = ProductImageEmbedding.objects.exclude(
        product__in=ProductImage.objects.values("product")
    )
    return gone.delete()[0]


# --- Services: the operator's side -----------------------------------------------


def _locked(product: Product) -> Product:
    return Product.objects.select_for_update().get(pk=product.pk)


def _decide(
    product: Product, *, category: Category, action: str, user, now
) -> CategoryDecision:
    """Set the category as the operator's and build the decision (not saved)."""
    product.category = category
    product.category_source = Source.OPERATOR
    product.auto_category_status = (
        Status.ACCEPTED if action == Action.ACCEPTED else Status.OVERRIDDEN
    )
    product.updated_at = now
    return CategoryDecision(
        product=product,
        action=action,
        category=category,
        suggestions=product.auto_category_suggestions,
        confidence=product.auto_category_confidence,
        model_version_id=product.auto_category_version_id,
        user=user,
        decided_at=now,
    )


DECISION_FIELDS = ["category", "category_source", "auto_category_status", "updated_at"]


@transaction.atomic
def review_accept(*, product: Product, user) -> Product:
    """Confirm the model's top suggestion as the product's category.

    Accepting one already accepted does nothing (a double click); a product without
    a suggestion raises ValidationError.
    """
    locked = _locked(product)
    if locked.auto_category_id is None:
        raise ValidationError(f"{locked.sku} has no automatic category to accept.")
    if (
        locked.auto_category_status != Status.ACCEPTED
        or locked.category_id != locked.auto_category_id
    ):
        decision = _decide(
            locked,
            category=locked.auto_category,
            action=Action.ACCEPTED,
            user=user,
            now=timezone.now(),
        )
        locked.save(update_fields=DECISION_FIELDS)
        decision.save()
    return locked


@transaction.atomic
def review_override(*, product: Product, category: Category, user) -> Product:
    """Set another category than the model's top suggestion, as the operator's.

    Choosing the model's top suggestion counts as accepting it.
    """
    locked = _locked(product)
    action = (
        Action.ACCEPTED if category.pk == locked.auto_category_id else Action.OVERRIDDEN
    )
    decision = _decide(
        locked, category=category, action=action, user=user, now=timezone.now()
    )
    locked.save(update_fields=DECISION_FIELDS)
    decision.save()
    return locked


@transaction.atomic
def review_accept_bulk(*, products: QuerySet[Product] | Iterable[Product], user) -> int:
    """Accept the top suggestion of many products in a few queries; return how many.

    Products without a suggestion, whose category a person set, or already accepted
    are skipped.
    """
    ids = (
        list(products.values_list("pk", flat=True))
        if isinstance(products, QuerySet)
        else [product.pk for product in products]
    )
    candidates = list(
        Product.objects.select_for_update()
        .filter(pk__in=ids, auto_category__isnull=False)
        .filter(auto_category_status__in=[Status.NEEDS_REVIEW, Status.AUTO_ASSIGNED])
        .exclude(person_set_category())
        .select_related("auto_category")
        .order_by("pk")
    )
    now = timezone.now()
    decisions = [
        _decide(p, category=p.auto_category, action=Action.ACCEPTED, user=user, now=now)
        for p in candidates
    ]
    product_rows_update(candidates, DECISION_FIELDS)
    CategoryDecision.objects.bulk_create(decisions, batch_size=CHUNK_SIZE)
    return len(candidates)


@transaction.atomic
def product_category_set_by_operator(*, product: Product, user) -> None:
    """Record that an operator set `product.category` by hand (already saved).

    The source becomes `operator` (`none` when cleared); where the model had made a
    suggestion, the change is recorded as accepting or overriding it.
    """
    now = timezone.now()
    fields = ["category_source"]
    product.category_source = Source.OPERATOR if product.category_id else Source.NONE
    if product.category_id and product.auto_category_id:
        action = (
            Action.ACCEPTED
            if product.category_id == product.auto_category_id
            else Action.OVERRIDDEN
        )
        _decide(
            product, category=product.category, action=action, user=user, now=now
        ).save()
        fields = DECISION_FIELDS
    product.save(update_fields=fields)


# --- Selectors ---------------------------------------------------------------------


def person_set_category() -> Q:
    """Return the condition "a person set this product's category"."""
    return Q(category__isnull=False, category_source__in=PERSON_SOURCES)


def first_image_path() -> Subquery:
    """Return the stored file name of a product's first picture."""
    images = ProductImage.objects.filter(product=OuterRef("pk")).order_by(
        "position", "id"
    )
    return Subquery(images.values("image")[:1])


def review_queue() -> QuerySet[Product]:
    """Return products waiting for an operator's review, most confident first.

    Each has `image_path` (its first picture) and its suggested category joined.
    """
    return (
        Product.objects.filter(auto_category_status=Status.NEEDS_REVIEW)
        .exclude(person_set_category())
        .select_related("auto_category", "auto_category_version", "category")
        .annotate(image_path=first_image_path())
        .order_by("-auto_category_confidence", "pk")
    )


def suggestion_categories(products: Iterable[Product]) -> dict[int, Category]:
    """Return the categories named by the products' suggestions, by id (one query)."""
    ids = {
        s["category"]
        for product in products
        for s in product.auto_category_suggestions or []
    }
    return Category.objects.in_bulk(ids) if ids else {}


def training_examples(*, require_image: bool = True) -> QuerySet:
    """Return what the model learns from: products whose category a person set.

    Operator-set or confirmed categories (review decisions included) and imported
    ones count; automatic ones never do. Rows are dicts with `id`, `sku`, `title`,
    `category_id`, `category_path`, `image_path` (the first picture's stored name,
    openable through the image field's storage) and `reviewed` (an operator decided
    it in review: a correction or confirmation of the model).
    """
    reviews = CategoryDecision.objects.filter(
        product=OuterRef("pk"), action__in=[Action.ACCEPTED, Action.OVERRIDDEN]
    )
    rows = (
        Product.objects.filter(person_set_category())
        .annotate(image_path=first_image_path(), reviewed=Exists(reviews))
        .order_by("pk")
    )
    if require_image:
        rows = rows.filter(image_path__isnull=False)
    return rows.values(
        "id",
        "sku",
        "category_id",
        "image_path",
        "reviewed",
        title=F("name"),
        category_path=F("category__path"),
    )


def category_by_id_or_path(value) -> Category:
    """Return the category with this id (int or digits) or path `A > B`.

    Raise ValidationError naming what was not found.
    """
    if isinstance(value, bool) or value is None or value == "":
        raise ValidationError("Give a category id or a path like 'Home > Mugs'.")
    category_id = parse_whole_number(str(value) if isinstance(value, int) else value)
    if category_id is not None:
        category = Category.objects.filter(pk=category_id).first()
        if category is None:
            raise ValidationError(f"No category has id {category_id}.")
        return category
    if not isinstance(value, str):
        raise ValidationError("Give a category id or a path like 'Home > Mugs'.")
    levels = [level.strip() for level in value.split(CATEGORY_PATH_SEPARATOR.strip())]
    path = CATEGORY_PATH_SEPARATOR.join(levels)
    category = Category.objects.filter(path=path).first()
    if category is None:
        raise ValidationError(f"No category has the path {path[:200]!r}.")
    return category


def image_champion_exists() -> bool:
    """Return whether an image model is champion (so that classifying is possible)."""
    return ModelVersion.objects.filter(
        kind=ModelKind.IMAGE, status=ModelVersion.Status.CHAMPION
    ).exists()
