"""The private files in an S3-compatible bucket (对象存储), for web and worker processes on
several hosts: what one stores, any other reads. Chosen by S3_BUCKET (config/settings.py).

The storage keeps the local folder's guarantees whatever the options say: every object is
written with the `private` ACL, no address of the bucket is ever produced (no signed URLs:
downloads are streamed by the permission-checked views), a name already taken gets a new
one instead of overwriting, and each stored file is an audit event as on the local folder.
"""

from __future__ import annotations

from urllib.parse import urljoin

from django.conf import settings
from django.utils.encoding import filepath_to_uri
from storages.backends.s3 import S3Storage

from accounts.storage import AuditedUploads


class AuditedS3Storage(AuditedUploads, S3Storage):
    def __init__(self, **options):
        super().__init__(**options)
        self.default_acl = "private"
        self.querystring_auth = False
        self.custom_domain = None
        self.file_overwrite = False
        # A file read from the bucket is held in memory up to this size, beyond it in a
        # temporary file (the default, 0, would hold any file in memory whole).
        if not self.max_memory_size:
            self.max_memory_size = settings.FILE_UPLOAD_MAX_MEMORY_SIZE

    def url(self, name, parameters=None, expire=None, http_method=None):
        """The same address the local folder gives (MEDIA_URL, served by nothing), never
        one of the bucket's: a file reaches a browser only through a view that asks the
        access policy."""
        return urljoin(settings.MEDIA_URL, filepath_to_uri(name).lstrip("/"))
