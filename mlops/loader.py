"""The one place that loads model artifacts; one cache per process.

`champions.get(kind)` returns the loaded current champion, noticing a promotion (a
cheap query per call); `champions.get_version(version)` loads a given version.
"""

import threading

from .kinds import get_kind
from .models import ModelVersion
from .registry import artifact_read


class ModelLoader:
    def __init__(self):
        self._lock = threading.Lock()
        self._by_version: dict[int, object] = {}

    def get(self, kind: str):
        """Return (version, loaded model) of the kind's champion, or (None, None)."""
        version = ModelVersion.objects.filter(
            kind=kind, status=ModelVersion.Status.CHAMPION
        ).first()
        if version is None:
            return None, None
        return version, self.get_version(version)

    def get_version(self, version: ModelVersion):
        with self._lock:
            model = self._by_version.get(version.pk)
            if model is None:
                model = get_kind(version.kind).load(version.algorithm, artifact_read(version))
                # Keep only the newest version of each kind in memory.
                self._by_version = {
                    pk: m
                    for pk, m in self._by_version.items()
                    if getattr(m, "_ecomsite_kind", None) != version.kind
                }
                try:
                    model._ecomsite_kind = version.kind
                except AttributeError:
                    pass
                self._by_version[version.pk] = model
            return model

    def clear(self) -> None:
        with self._lock:
            self._by_version.clear()


champions = ModelLoader()
