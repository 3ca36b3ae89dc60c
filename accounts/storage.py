"""The private file storage: outside any public URL (files are streamed only by views that
check permissions), and every stored upload is written to the audit log — in the local
folder (MEDIA_ROOT, `AuditedPrivateStorage`) or, when S3_BUCKET is set, in an S3-compatible
bucket (`accounts.storage_s3.AuditedS3Storage`, docs/deployment.md)."""

from __future__ import annotations

from django.core.files.storage import FileSystemStorage

from accounts.constants import AuditAction


class AuditedUploads:
    """Mixed into a storage class: each file it stores is an audit event (上传文件)."""

    def _save(self, name, content):
        saved = super()._save(name, content)
        from accounts.audit import record

        size = getattr(content, "size", None)
        record(
            AuditAction.UPLOAD,
            f"上传文件 {saved}" + (f"（{size} 字节）" if size is not None else ""),
            object_type="file",
            object_id=saved[-64:],
        )
        return saved


class AuditedPrivateStorage(AuditedUploads, FileSystemStorage):
    """The private files in the local folder MEDIA_ROOT (one host, or a shared volume)."""
