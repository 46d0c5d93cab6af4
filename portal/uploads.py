"""Uploaded documents (signed agreements, evidence of hours): checked by their content, kept
outside the web root under random names, and served only by views that checked who asks.

A file is what its first bytes say, never what its name says: a renamed executable is
refused as "not a PDF". Sizes are checked before anything is read.
"""

import uuid
from collections.abc import Callable, Sequence
from pathlib import PurePath
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.db.models.fields.files import FieldFile
from django.http import FileResponse
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# kind -> (first bytes, content type, extension, label)
KINDS: dict[str, tuple[bytes, str, str, Any]] = {
    "pdf": (b"%PDF-", "application/pdf", ".pdf", gettext_lazy("PDF")),
    "png": (b"\x89PNG\r\n\x1a\n", "image/png", ".png", gettext_lazy("PNG 图片")),
    "jpeg": (b"\xff\xd8\xff", "image/jpeg", ".jpg", gettext_lazy("JPEG 图片")),
}
CONTENT_TYPES = {ext: ctype for _magic, ctype, ext, _label in KINDS.values()}


def private_storage() -> FileSystemStorage:
    """Files no URL reaches: only a view streams them, after its own permission check."""
    return FileSystemStorage(location=settings.PRIVATE_ROOT, base_url=None)


def private_upload_to(folder: str) -> Callable[[Any, str], str]:
    """``upload_to`` for a private file: ``folder/YYYY/MM/<random>.<ext of its kind>`` (names are not guessable)."""

    def upload_to(instance: Any, filename: str) -> str:
        ext = PurePath(filename).suffix.lower()
        return f"{folder}/{timezone.localdate():%Y/%m}/{uuid.uuid4().hex}{ext}"

    upload_to.__name__ = f"upload_to_{folder}"
    return upload_to


def document_kind(file: Any, kinds: Sequence[str] = ("pdf",), max_bytes: int | None = None) -> str:
    """The kind of an uploaded ``file`` among ``kinds`` (by its content); ValidationError saying what to fix."""
    limit = max_bytes or settings.DOCUMENT_MAX_BYTES
    if file.size > limit:
        raise ValidationError(
            _("文件大小为 %(size)s，超过上限 %(max)s，请压缩后重新上传。")
            % {"size": filesizeformat(file.size), "max": filesizeformat(limit)}
        )
    file.seek(0)
    head = file.read(16)
    found = next((kind for kind, (magic, *_rest) in KINDS.items() if head.startswith(magic)), None)
    if found == "pdf" and not _pdf_ends_properly(file):
        found = None
    file.seek(0)
    if found not in kinds:
        wanted = "、".join(str(KINDS[k][3]) for k in kinds)
        message = _("文件内容不是 %(kinds)s，请上传扫描或导出的 %(kinds)s 文件（改扩展名的文件无法识别）。")
        raise ValidationError(message % {"kinds": wanted})
    return found


def _pdf_ends_properly(file: Any) -> bool:
    """A PDF ends with %%EOF (within its last kilobyte): a truncated or faked one does not."""
    file.seek(max(file.size - 1024, 0))
    return b"%%EOF" in file.read(1024)


class DocumentField(forms.FileField):
    """A form field for a document of the given kinds, checked by content and size."""

    def __init__(self, *args: Any, kinds: Sequence[str] = ("pdf",), max_bytes: int | None = None, **kwargs: Any):
        self.kinds, self.max_bytes = tuple(kinds), max_bytes
        accept = ",".join(KINDS[k][2] for k in self.kinds)
        kwargs.setdefault("widget", forms.ClearableFileInput(attrs={"accept": accept}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        file = super().clean(data, initial)
        if file and hasattr(file, "size") and not isinstance(file, FieldFile):
            kind = document_kind(file, self.kinds, self.max_bytes)
            # Stored under the extension of what it is, whatever the name said.
            file.name = PurePath(file.name).stem + KINDS[kind][2]
        return file


def document_response(file: FieldFile, download_name: str) -> FileResponse:
    """Stream a private document as a download; never cached, never sniffed into something else."""
    ext = PurePath(file.name).suffix.lower()
    response = FileResponse(
        file.open("rb"),
        as_attachment=True,
        filename=download_name + ext,
        content_type=CONTENT_TYPES.get(ext, "application/octet-stream"),
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
