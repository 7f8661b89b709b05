"""Artifacts on S3-compatible object storage (AWS S3, MinIO, Ceph, moto in CI).

A module of its own so that boto3 is imported only where `ARTIFACT_STORAGE=s3`.
"""

from storages.backends.s3 import S3Storage


class ArtifactS3Storage(S3Storage):
    """S3-compatible storage for artifacts: a name is never overwritten.

    An object appears whole or not at all (a single PUT, or a multipart upload that
    becomes visible only when completed), so a worker killed mid-upload leaves no
    partial artifact under its name. The upload carries its SHA-256, which the object
    store checks on arrival; the registry checks it again on every read.
    """

    def __init__(self, **settings):
        settings.setdefault("file_overwrite", False)
        settings.setdefault("object_parameters", {"ChecksumAlgorithm": "SHA256"})
        super().__init__(**settings)
