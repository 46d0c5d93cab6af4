"""Helpers for hours earned outside the catalogue: declaration settings, evidence files, declarations."""

import datetime as dt
import io
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from reportlab.pdfgen import canvas

from credits import declaration_services as declarations
from credits.models import DeclarationSettings
from tests.factories.enrollment import at


def real_pdf(text: str = "certificate") -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, text)
    page.save()
    return out.getvalue()


def evidence(name: str = "证书.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, real_pdf(), content_type="application/pdf")


def settings_for(city, year: int = 2022, **kwargs) -> DeclarationSettings:
    values = dict(
        categories=["professional", "elective"],
        declare_until=dt.date(year, 12, 31),
        certify_until=dt.date(year + 1, 1, 15),
    )
    values.update(kwargs)
    return DeclarationSettings.objects.create(city=city, year=year, **values)


def data(**kwargs) -> declarations.DeclarationInput:
    values = dict(
        title="省级学科教研会",
        organiser="广东省教育研究院",
        starts_on=dt.date(2022, 5, 10),
        ends_on=dt.date(2022, 5, 11),
        category="professional",
        full_days=2,
        minutes=0,
        hours=Decimal("16"),
    )
    values.update(kwargs)
    return declarations.DeclarationInput(**values)


def declare(user, now=None, **kwargs):
    return declarations.declaration_submit(
        actor=user, data=data(**kwargs), files=[evidence()], now=now or at("2022-06-01 10:00")
    )
