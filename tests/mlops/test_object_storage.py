"""Artifacts on S3-compatible object storage (moto in-process; the two-worker test in
tests/integration runs against a moto server that `.ci/run` starts)."""

import boto3
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from moto import mock_aws

from ecomsite.settings import base as base_settings
from mlops.models import ModelVersion
from mlops.registry import RegistryError, artifact_read
from mlops.storage import artifact_storage
from tests.mlops.test_registry import outcome, register

pytestmark = [pytest.mark.django_db]

BUCKET = "ecomsite-artifacts-test"


@pytest.fixture
def s3_artifacts(settings, monkeypatch):
    """Point STORAGES["artifacts"] at an S3 bucket (moto), as ARTIFACT_STORAGE=s3 does."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "ARTIFACT_S3_BUCKET": BUCKET,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(base_settings, "ARTIFACT_STORAGE", "s3")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        settings.STORAGES = {
            **settings.STORAGES,
            "artifacts": base_settings.artifact_storage_config(None),
        }
        yield client


def object_keys(client) -> list[str]:
    listed = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return sorted(item["Key"] for item in listed)


def test_s3_setting_selects_the_object_storage_backend(s3_artifacts):
    storage = artifact_storage()
    assert type(storage).__name__ == "ArtifactS3Storage"
    assert storage.bucket_name == BUCKET and storage.location == "artifacts"


def test_artifacts_are_written_to_the_bucket_and_read_back_checked(s3_artifacts):
    version = register(outcome(0.30, 0.20))
    assert version.status == ModelVersion.Status.CHAMPION
    assert object_keys(s3_artifacts) == [f"artifacts/{version.artifact.name}"]
    stored = s3_artifacts.head_object(
        Bucket=BUCKET,
        Key=f"artifacts/{version.artifact.name}",
        ChecksumMode="ENABLED",
    )
    assert "ChecksumSHA256" in stored  # the store checked the upload's SHA-256
    data = artifact_read(version)
    assert data[:2] == b"PK"  # an .npz archive, whole


def test_an_object_changed_in_the_bucket_is_refused_on_load(s3_artifacts):
    version = register(outcome(0.30, 0.20))
    s3_artifacts.put_object(
        Bucket=BUCKET, Key=f"artifacts/{version.artifact.name}", Body=b"tampered"
    )
    with pytest.raises(RegistryError, match="corrupt"):
        artifact_read(version)


def test_an_artifact_name_in_the_bucket_is_never_overwritten(s3_artifacts):
    storage = artifact_storage()
    first = storage.save("recommender/same.npz", ContentFile(b"one"))
    second = storage.save("recommender/same.npz", ContentFile(b"two"))
    assert first != second
    assert storage.open(first).read() == b"one"
    assert storage.open(second).read() == b"two"


def test_unknown_storage_or_missing_bucket_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(base_settings, "ARTIFACT_STORAGE", "ftp")
    with pytest.raises(ImproperlyConfigured, match="expected 'filesystem' or 's3'"):
        base_settings.artifact_storage_config(None)
    monkeypatch.setattr(base_settings, "ARTIFACT_STORAGE", "s3")
    monkeypatch.delenv("ARTIFACT_S3_BUCKET", raising=False)
    with pytest.raises(ImproperlyConfigured, match="needs ARTIFACT_S3_BUCKET"):
        base_settings.artifact_storage_config(None)
