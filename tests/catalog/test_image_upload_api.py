"""Staff upload product images through the API: validated, stored once, classified."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalog.models import ProductImage
from tests.admin_support import png_bytes
from tests.catalog.categorisation_support import image_version
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def post_image(client, sku: str, raw: bytes, **fields):
    url = reverse("api-product-image-upload", kwargs={"sku": sku})
    upload = SimpleUploadedFile("picture.png", raw, "image/png")
    return client.post(url, {"image": upload, **fields}, format="multipart")


def test_staff_upload_stores_the_image_once_and_queues_classification(
    staff_client, django_capture_on_commit_callbacks
):
    product = ProductFactory(sku="MUG")
    image_version(status="champion")

    with django_capture_on_commit_callbacks() as queued:
        first = post_image(staff_client, "MUG", png_bytes(1), alt_text="A blue mug")
    again = post_image(staff_client, "MUG", png_bytes(1))

    assert first.status_code == 201, first.content
    body = first.json()
    assert body["alt_text"] == "A blue mug" and body["url"].endswith(".jpg")
    assert body["thumbnail_url"]
    assert len(queued) == 1  # the product is classified once the upload is saved
    assert again.status_code == 200
    assert ProductImage.objects.filter(product=product).count() == 1


def test_an_upload_without_a_file_or_with_a_bad_position_is_refused(staff_client):
    ProductFactory(sku="MUG")

    missing = staff_client.post(
        reverse("api-product-image-upload", kwargs={"sku": "MUG"}), {}
    )
    bad_position = post_image(staff_client, "MUG", png_bytes(2), position=-1)

    assert missing.status_code == 400 and "image" in missing.json()
    assert bad_position.status_code == 400 and "position" in bad_position.json()


def test_customers_cannot_upload_and_unknown_skus_are_404(
    customer_client, staff_client
):
    ProductFactory(sku="MUG")

    assert post_image(customer_client, "MUG", png_bytes(3)).status_code == 403
    assert post_image(staff_client, "NOPE", png_bytes(3)).status_code == 404
    assert not ProductImage.objects.exists()
