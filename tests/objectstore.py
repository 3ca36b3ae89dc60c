"""An S3-compatible object store on this machine for the tests: moto's server (the same HTTP
API as AWS S3, MinIO or OSS), started in a thread of the test process on a free port, with
one private bucket."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[1]
ACCESS_KEY = "registry-test"
SECRET_KEY = "registry-test-secret"
REGION = "us-east-1"


@dataclass
class ObjectStore:
    endpoint: str
    bucket: str
    _server: object = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    @property
    def env(self) -> dict[str, str]:
        """The variables that point the registry at this store (README, Configuration)."""
        return {
            "S3_BUCKET": self.bucket,
            "S3_ENDPOINT_URL": self.endpoint,
            "S3_REGION": REGION,
            "S3_ACCESS_KEY_ID": ACCESS_KEY,
            "S3_SECRET_ACCESS_KEY": SECRET_KEY,
            "S3_ADDRESSING_STYLE": "path",
        }

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=Config(s3={"addressing_style": "path"}),
        )

    def keys(self, prefix: str = "") -> list[str]:
        listing = self.client().list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return [item["Key"] for item in listing.get("Contents", [])]

    def read(self, key: str) -> bytes:
        return self.client().get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def object_url(self, key: str) -> str:
        return f"{self.endpoint}/{self.bucket}/{quote(key)}"

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)


def start_object_store() -> ObjectStore:
    """moto's S3 server on a free port, with an empty private bucket."""
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = DomainDispatcherApplication(create_backend_app)
    # Port 0: the system gives a free one (werkzeug exits the process on a taken port).
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
    port = server.server_port
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    store = ObjectStore(
        endpoint=f"http://127.0.0.1:{port}",
        bucket=f"registry-{uuid.uuid4().hex[:12]}",
        _server=server,
        _thread=thread,
    )
    store.client().create_bucket(Bucket=store.bucket)
    return store


def storages_from_environment(env: dict[str, str]) -> dict:
    """STORAGES["default"] as config/settings.py builds it from these variables (in a fresh
    interpreter: the settings are read once, at start-up)."""
    script = "import json, config.settings as s; print(json.dumps(s.STORAGES['default']))"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("S3_")}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr)
    return json.loads(result.stdout)
