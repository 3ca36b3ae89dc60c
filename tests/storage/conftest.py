"""Two hosts sharing one S3-compatible bucket: each test reads and writes its files in the
bucket of a moto server started for the test session (tests/objectstore.py), under a prefix
of its own, and switches "hosts" by giving the process another, empty local folder."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.objectstore import start_object_store, storages_from_environment


@pytest.fixture(scope="session")
def object_store():
    store = start_object_store()
    yield store
    store.stop()


@pytest.fixture(scope="session")
def bucket_backend(object_store) -> dict:
    """STORAGES["default"] as the settings build it from the S3_* variables."""
    return storages_from_environment(object_store.env)


class Hosts:
    """`on(name)`: from now on this process is host `name`, with its own empty MEDIA_ROOT and
    a storage object of its own (nothing cached from the previous host)."""

    def __init__(self, settings, root: Path, backend: dict, store, prefix: str):
        self._settings, self._root, self._backend = settings, root, backend
        self.store, self.prefix = store, prefix

    def on(self, name: str) -> Path:
        folder = self._root / name
        folder.mkdir(parents=True, exist_ok=True)
        self._settings.MEDIA_ROOT = folder
        self._settings.STORAGES = {**self._settings.STORAGES, "default": dict(self._backend)}
        return folder

    def local_files(self) -> list[Path]:
        return [p for p in self._root.rglob("*") if p.is_file()]

    def keys(self) -> list[str]:
        return self.store.keys(f"{self.prefix}/")

    def key_of(self, name: str) -> str:
        return f"{self.prefix}/{name}"


@pytest.fixture
def hosts(settings, tmp_path, object_store, bucket_backend) -> Hosts:
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    backend = {**bucket_backend, "OPTIONS": {**bucket_backend["OPTIONS"], "location": prefix}}
    return Hosts(settings, tmp_path / "hosts", backend, object_store, prefix)
