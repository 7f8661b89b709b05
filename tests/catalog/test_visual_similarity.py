"""Image embeddings and "visually similar products": stored, listed, served, shown."""

import numpy as np
import pytest
from django.urls import reverse

from catalog.categorisation import image_embeddings_store, visually_similar_refresh
from catalog.models import ProductImageEmbedding, VisuallySimilarProduct
from catalog.selectors import visually_similar_products
from catalog.services import product_image_add
from recommender.models import RecommendationRule
from tests.admin_support import png_bytes
from tests.catalog.categorisation_support import image_version
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

# Two looks: products 0-2 alike (0 and 1 nearly the same), 3-4 another.
VECTORS = np.array(
    [[1.0, 0.0], [0.99, 0.1], [0.8, 0.6], [0.0, 1.0], [0.1, 0.99]], np.float32
)


@pytest.fixture
def version():
    return image_version(1, status="champion")


@pytest.fixture
def products(version):
    made = [ProductFactory(sku=f"LOOK-{i}", stock=5) for i in range(len(VECTORS))]
    image_embeddings_store([p.pk for p in made], VECTORS, version=version)
    visually_similar_refresh(version=version)
    return made


def listed(product) -> list[str]:
    return [item.product.sku for item in visually_similar_products(product)]


def test_embeddings_are_stored_once_per_product_as_unit_float32(version):
    product = ProductFactory()
    image_embeddings_store([product.pk], np.array([[3.0, 4.0]]), version=version)
    first = ProductImageEmbedding.objects.get(product=product)
    assert np.allclose(np.frombuffer(bytes(first.vector), "<f4"), [0.6, 0.8])
    newer = image_version(2)
    image_embeddings_store([product.pk], np.array([[0.0, 5.0]]), version=newer)
    image_embeddings_store([product.pk], np.array([[0.0, 5.0]]), version=newer)

    stored = ProductImageEmbedding.objects.get(product=product)
    assert stored.model_version == newer
    assert np.frombuffer(bytes(stored.vector), "<f4").tolist() == [0.0, 1.0]
    assert ProductImageEmbedding.objects.count() == 1


def test_each_product_lists_the_closest_pictures_never_itself(products):
    assert listed(products[0])[:2] == ["LOOK-1", "LOOK-2"]
    assert listed(products[3])[0] == "LOOK-4"
    rows = VisuallySimilarProduct.objects.filter(product=products[0])
    assert rows.count() == 4
    assert not rows.filter(similar=products[0]).exists()
    first = rows.get(rank=1)
    assert first.score == pytest.approx(float(VECTORS[0] @ VECTORS[1]) / 0.99504, 1e-3)


def test_serving_leaves_out_inactive_and_excluded_products(products):
    products[1].is_active = False
    products[1].save()
    RecommendationRule.objects.create(action="exclude", product=products[2])

    items = visually_similar_products(products[0])

    assert [i.product.sku for i in items] == ["LOOK-4", "LOOK-3"]
    assert [i.rank for i in items] == [1, 2]


def test_refreshing_is_idempotent_and_per_product(products, version):
    before = list(VisuallySimilarProduct.objects.values_list("product", "similar"))
    assert visually_similar_refresh(version=version, product_ids=[products[0].pk]) == 4
    visually_similar_refresh(version=version)
    after = list(VisuallySimilarProduct.objects.values_list("product", "similar"))
    assert sorted(after) == sorted(before)


def test_a_full_refresh_drops_lists_without_an_embedding_of_the_version(
    products, version
):
    newer = image_version(2)
    image_embeddings_store([p.pk for p in products[:3]], VECTORS[:3], version=newer)

    visually_similar_refresh(version=newer)

    assert set(
        VisuallySimilarProduct.objects.values_list("product__sku", flat=True)
    ) == {"LOOK-0", "LOOK-1", "LOOK-2"}
    assert listed(products[0]) == ["LOOK-1", "LOOK-2"]


def test_api_serves_the_list_with_scores(api_client, products):
    product_image_add(product=products[1], raw=png_bytes(1))
    url = f"/api/v1/products/{products[0].sku}/visually-similar/"

    response = api_client.get(url)

    assert response.status_code == 200, response.content
    body = response.json()
    assert [entry["product"]["sku"] for entry in body] == [
        "LOOK-1",
        "LOOK-2",
        "LOOK-4",
        "LOOK-3",
    ]
    assert body[0]["rank"] == 1 and 0.99 < body[0]["score"] <= 1.0
    assert body[0]["product"]["thumbnail_url"].startswith("http")
    assert body[1]["product"]["thumbnail_url"] is None
    assert api_client.get("/api/v1/products/NOPE/visually-similar/").status_code == 404
    products[0].is_active = False
    products[0].save()
    assert api_client.get(url).status_code == 404


def test_a_product_without_an_embedding_has_an_empty_list(api_client):
    product = ProductFactory()
    response = api_client.get(f"/api/v1/products/{product.sku}/visually-similar/")
    assert response.status_code == 200
    assert response.json() == []


def test_admin_product_page_shows_thumbnails_and_scores(admin_client, products):
    product_image_add(product=products[1], raw=png_bytes(2))
    url = reverse("admin:catalog_product_change", args=[products[0].pk])

    html = admin_client.get(url).content.decode()

    assert "Visually similar" in html
    assert "LOOK-1" in html and "0.995" in html
    assert 'loading="lazy"' in html  # the thumbnail of LOOK-1
    empty = admin_client.get(
        reverse("admin:catalog_product_change", args=[ProductFactory().pk])
    )
    assert "No visually similar products" in empty.content.decode()


def test_a_serving_baseline_carries_the_image_network_for_embeddings():
    from catalog.ml.baselines import TitleOnly
    from catalog.ml.classifier import ClassifierConfig, ProductClassifier
    from catalog.mlkind import ImageKind, artifact_bytes
    from tests.catalog.ml.synthetic import SIZE
    from tests.catalog.ml.synthetic import products as synthetic

    images, titles, labels = synthetic(40)
    tiny = ClassifierConfig(image_size=SIZE, widths=(4,), embedding_dim=4)
    network = ProductClassifier(tiny, use_title=False)
    network.n_classes = 3
    network._model = network._build()  # untrained weights embed all the same
    baseline = TitleOnly().fit(images, titles, labels, 3)
    common = {"class_category_ids": [1, 2, 3], "thresholds": [0.5] * 3}

    served = ImageKind().load(
        "title-tfidf",
        artifact_bytes(baseline, image_size=SIZE, embedder=network, **common),
    )
    alone = ImageKind().load(
        "image-title",
        artifact_bytes(network, image_size=SIZE, embedder=network, **common),
    )

    assert served.embeds and served.network is not served.model
    assert np.allclose(served.network.embed(images), network.embed(images), atol=1e-5)
    assert alone.network is alone.model and alone.embedder is None
    without = artifact_bytes(baseline, image_size=SIZE, **common)
    assert not ImageKind().load("title-tfidf", without).embeds
