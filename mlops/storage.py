"""Artifact storage: files appear whole or not at all, and are never overwritten.

Two backends: a local (or shared, mounted) folder, and S3-compatible object storage
for workers on several hosts that share no file system (`ARTIFACT_STORAGE=s3`,
`mlops.s3storage`, imported only then). Either
way the registry checks every artifact's SHA-256 when it is read.
"""

import os
import tempfile

from django.core.files.storage import FileSystemStorage, storages


class AtomicFileSystemStorage(FileSystemStorage):
    """A FileSystemStorage whose writes are atomic (temp file, fsync, link into place).

    A worker killed mid-write leaves at most a hidden temporary file, never a partial
    artifact under its real name; an existing name is never replaced.
    """

    def _save(self, name, content):
        full_path = self.path(name)
        directory = os.path.dirname(full_path)
        os.makedirs(directory, exist_ok=True)
        handle, temp_path = tempfile.mkstemp(dir=directory, prefix=".partial-")
        try:
            with os.fdopen(handle, "wb") as temp:
                if hasattr(content, "seek"):
                    content.seek(0)
                for chunk in content.chunks():
                    temp.write(chunk)
                temp.flush()
                os.fsync(temp.fileno())
            while True:
                try:
                    os.link(temp_path, full_path)  # fails rather than overwrite
                    break
                except FileExistsError:
                    name = self.get_available_name(name)
                    full_path = self.path(name)
            _fsync_directory(directory)
        finally:
            os.unlink(temp_path)
        if self.file_permissions_mode is not None:
            os.chmod(full_path, self.file_permissions_mode)
        return str(name).replace("\\", "/")


def _fsync_directory(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def artifact_storage():
    """Return the storage that holds model artifacts (STORAGES["artifacts"])."""
    return storages["artifacts"]
