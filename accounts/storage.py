"""The private file storage: outside any public URL (files are streamed only by views that
check permissions), and every stored upload is written to the audit log."""

from __future__ import annotations

from django.core.files.storage import FileSystemStorage

from accounts.constants import AuditAction


class AuditedPrivateStorage(FileSystemStorage):
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
