"""Uploaded documents are what their content says, within the size limit, and never cached."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from reportlab.pdfgen import canvas

from portal.models import PersonalDataAccess
from portal.privacy import id_number_for, personal_data_access_record
from portal.uploads import DocumentField, document_kind, document_response, private_storage


def real_pdf() -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, "agreement")
    page.save()
    return out.getvalue()


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_a_real_pdf_is_accepted_and_stored_as_pdf():
    cleaned = DocumentField().clean(SimpleUploadedFile("协议.PDF", real_pdf()))

    assert cleaned.name == "协议.pdf"


def test_a_renamed_executable_is_refused_as_not_a_pdf():
    exe = SimpleUploadedFile("协议.pdf", b"MZ\x90\x00" + b"\x00" * 500)

    with pytest.raises(ValidationError) as exc:
        DocumentField().clean(exe)

    assert "文件内容不是 PDF" in str(exc.value)


def test_a_pdf_without_its_end_is_refused():
    truncated = real_pdf()[:-200]

    with pytest.raises(ValidationError):
        document_kind(SimpleUploadedFile("a.pdf", truncated))


def test_an_oversized_file_is_refused_before_it_is_read(settings):
    settings.DOCUMENT_MAX_BYTES = 1000

    with pytest.raises(ValidationError) as exc:
        document_kind(SimpleUploadedFile("a.pdf", real_pdf() + b" " * 2000))

    assert "超过上限" in str(exc.value)


def test_images_are_accepted_only_where_asked_for():
    assert document_kind(SimpleUploadedFile("证书.jpg", PNG), kinds=("pdf", "png", "jpeg")) == "png"
    with pytest.raises(ValidationError):
        document_kind(SimpleUploadedFile("证书.png", PNG))


def test_a_private_document_is_served_as_a_download_that_is_never_cached(settings, tmp_path):
    settings.PRIVATE_ROOT = tmp_path
    name = private_storage().save("agreements/x.pdf", io.BytesIO(real_pdf()))

    class Stored:
        def __init__(self, name):
            self.name = name

        def open(self, mode):
            return private_storage().open(self.name, mode)

    response = document_response(Stored(name), "协议")

    assert (response["Content-Type"], response["Cache-Control"]) == ("application/pdf", "private, no-store")
    assert "attachment" in response["Content-Disposition"]


@pytest.mark.django_db
def test_whole_id_numbers_are_shown_only_when_asked_and_recorded(tree):
    number = tree.teacher_a.id_number

    record = personal_data_access_record(tree.erin, purpose="test.list", count=3, detail="最终名单")

    assert id_number_for(number) == number[:6] + "********" + number[14:]
    assert id_number_for(number, whole=True) == number
    assert list(PersonalDataAccess.objects.values_list("user_id", "purpose", "count")) == [
        (tree.erin.pk, "test.list", 3)
    ]
    assert record.user_name == tree.erin.name
