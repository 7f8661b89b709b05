"""The one place that loads model artifacts; one cache per process.

`champions.get(kind)` returns the loaded current champion, noticing a promotion (a
cheap query per call); `champions.get_version(version)` loads a given version.
"""

import threading

from .kinds import get_kind
from .models import ModelVersion
from .registry import artifact_read


class ModelLoader:
    """Cache the newest loaded version of each kind; reload when another is asked for."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_kind: dict[str, tuple[int, object]] = {}

    def get(self, kind: str):
        """Return (version, loaded model) of the kind's champion, or (None, None)."""
        version = ModelVersion.objects.filter(
            kind=kind, status=ModelVersion.Status.CHAMPION
        ).first()
        if version is None:
            return None, None
        return version, self.get_version(version)

    def get_version(self, version: ModelVersion):
        """Return the loaded model of `version`, verified against its checksum."""
        with self._lock:
            cached = self._by_kind.get(version.kind)
            if cached and cached[0] == version.pk:
                return cached[1]
            model = get_kind(version.kind).load(
                version.algorithm, artifact_read(version)
            )
            self._by_kind[version.kind] = (version.pk, model)
            return model

    def clear(self) -> None:
        with self._lock:
            self._by_kind.clear()


champions = ModelLoader()
