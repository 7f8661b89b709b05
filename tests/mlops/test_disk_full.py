"""A full disk where artifacts are written: the run fails cleanly, the champion stays.

The artifact folder is a small tmpfs this test mounts (root is needed: CI runs as root).
"""

import os
import subprocess
from pathlib import Path

import pytest
from django.core.files.storage import storages

from mlops.models import ModelVersion, Run
from mlops.registry import artifact_read
from mlops.runs import run_request
from recommender.selectors import recommendations_for
from tests.mlops.conftest import build_shop

pytestmark = [pytest.mark.django_db(transaction=True)]

SMALL = {"epochs": 2, "dim": 8}
TMPFS_SIZE = "4m"


@pytest.fixture
def small_disk(tmp_path, settings):
    """Mount a 4 MB tmpfs and make it the artifact storage; unmount afterwards."""
    mount_point = tmp_path / "artifacts"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"CI must be able to mount a tmpfs: {mounted.stderr}")
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr}")
    settings.ARTIFACTS_ROOT = mount_point
    settings.STORAGES = {
        **settings.STORAGES,
        "artifacts": {
            "BACKEND": "mlops.storage.AtomicFileSystemStorage",
            "OPTIONS": {"location": str(mount_point)},
        },
    }
    yield mount_point
    storages._storages.pop("artifacts", None)
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(disk: Path, leave_bytes: int) -> Path:
    """Fill `disk` with one file so that only about `leave_bytes` stay free."""
    stats = os.statvfs(disk)
    free = stats.f_bavail * stats.f_frsize
    filler = disk / "filler"
    with filler.open("wb") as handle:
        handle.write(b"\0" * max(0, free - leave_bytes))
    return filler


def train() -> Run:
    run = run_request(kind="recommender", type=Run.Type.TRAIN, options=SMALL)
    run.refresh_from_db()
    return run


def test_a_full_artifact_disk_fails_the_run_and_keeps_the_champion(small_disk):
    users, _ = build_shop(customers=60)
    first = train()
    assert first.state == Run.State.SUCCEEDED, first.error
    champion = ModelVersion.objects.get(kind="recommender", status="champion")
    versions_before = set(ModelVersion.objects.values_list("pk", flat=True))
    filler = fill(small_disk, leave_bytes=8 * 1024)

    second = train()

    assert second.state == Run.State.FAILED
    assert "No space left on device" in second.error
    assert set(ModelVersion.objects.values_list("pk", flat=True)) == versions_before
    assert ModelVersion.objects.get(kind="recommender", status="champion") == champion
    for version in ModelVersion.objects.all():
        artifact_read(version)  # every registered artifact whole, SHA-256 checked
    leftovers = [p.name for p in small_disk.rglob(".partial-*")]
    assert leftovers == []

    filler.unlink()  # space again: the next run trains, registers and serves
    third = train()
    assert third.state == Run.State.SUCCEEDED, third.error
    assert run_request(kind="recommender", type=Run.Type.INFER).pk
    assert recommendations_for(users[0])
