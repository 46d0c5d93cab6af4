"""Hours certificates (学时证明): frozen content, an HMAC verification code, and the PDF.

The certificate's ``content`` is exactly what the PDF and the public
verification page show (ID number masked). Its code is an HMAC-SHA256 of the
canonical JSON of that content keyed with SECRET_KEY, so nobody without the
key can make up a valid code, and a changed row no longer matches its code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import json
import os
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from credits.models import Category, Certificate, CreditEntry, RuleSet, Source
from credits.rule_engine import Totals, evaluate, fmt_hours
from portal import idcard
from portal.models import Teacher

CJK_TTF_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc",
)


# --------------------------------------------------------------------------- content and code


def certificate_content(teacher: Teacher, year: int, rule_set: RuleSet | None) -> dict:
    """What the certificate states, as plain JSON data. Two queries (entries, unit is preloaded)."""
    entries = list(
        CreditEntry.objects.filter(teacher=teacher, year=year).select_related("kind").order_by("recorded_at", "id")
    )
    totals = Totals()
    rows = []
    for e in entries:
        totals.add(e.hours, e.category, e.kind.code if e.kind else None, e.topics)
        rows.append(
            {
                "date": timezone.localtime(e.recorded_at).date().isoformat(),
                "category": str(Category(e.category).label),
                "kind": e.kind.name if e.kind else "",
                "source": str(Source(e.source).label),
                "hours": fmt_hours(e.hours),
            }
        )
    content = {
        "name": teacher.name,
        "id_number": idcard.mask(teacher.id_number),
        "unit": teacher.unit.name,
        "year": year,
        "total": fmt_hours(totals.total),
        "entries": rows,
    }
    if rule_set is not None:
        result = evaluate(rule_set.tree, totals)
        content.update(
            rule=rule_set.name,
            met=result.met,
            verdict=str(_("已达标") if result.met else _("未达标")),
            sentence=result.sentence,
            requirements=[
                {"label": r.label, "required": fmt_hours(r.required), "actual": fmt_hours(r.actual), "met": r.met}
                for r in result.requirements
            ],
        )
    return content


def canonical(content: dict) -> bytes:
    return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def content_hash(content: dict) -> str:
    return hashlib.sha256(canonical(content)).hexdigest()


def sign(content: dict) -> str:
    """The verification code: 20 hex digits of HMAC-SHA256(SECRET_KEY, content), grouped by 4."""
    digest = hmac.new(settings.SECRET_KEY.encode(), canonical(content), hashlib.sha256).hexdigest()[:20].upper()
    return "-".join(digest[i : i + 4] for i in range(0, 20, 4))


def normalize_code(raw: str) -> str:
    text = "".join(c for c in (raw or "").upper() if c in "0123456789ABCDEF")
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def certificate_issue(teacher: Teacher, year: int, *, actor=None, now: dt.datetime | None = None) -> Certificate:
    """The certificate for the teacher's hours as they stand; the same one again if nothing changed.

    Side effects: at most one INSERT (a new Certificate row when the content is new).
    """
    from credits.selectors import rule_set_for_unit

    content = certificate_content(teacher, year, rule_set_for_unit(teacher.unit, year))
    digest = content_hash(content)
    with transaction.atomic():
        existing = Certificate.objects.filter(teacher=teacher, year=year, content_hash=digest).first()
        if existing:
            return existing
        content["issued_on"] = timezone.localtime(now or timezone.now()).date().isoformat()
        return Certificate.objects.create(
            code=sign(content),
            teacher=teacher,
            year=year,
            content=content,
            content_hash=digest,
            issued_at=now or timezone.now(),
            issued_by=actor,
        )


@dataclass(frozen=True)
class Verification:
    certificate: Certificate | None
    genuine: bool

    @property
    def found(self) -> bool:
        return self.certificate is not None


def certificate_verify(code: str) -> Verification:
    """Look the code up and recompute it from the stored content. One query."""
    code = normalize_code(code)
    certificate = Certificate.objects.filter(code=code).first() if len(code) == 24 else None
    if certificate is None:
        return Verification(None, False)
    genuine = hmac.compare_digest(sign(certificate.content), code)
    body = {k: v for k, v in certificate.content.items() if k != "issued_on"}
    genuine = genuine and hmac.compare_digest(content_hash(body), certificate.content_hash)
    return Verification(certificate, genuine)


# --------------------------------------------------------------------------- PDF


@lru_cache(maxsize=1)
def cjk_font() -> str:
    """Register and return a Chinese font: WenQuanYi Zen Hei embedded if installed, else the CID STSong-Light."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont

    for path in CJK_TTF_CANDIDATES:
        if os.path.exists(path):
            try:
                pdfmetrics.registerFont(TTFont("WQYZenHei", path, subfontIndex=0))
                return "WQYZenHei"
            except Exception:  # noqa: S112 - a broken font file falls back to the CID font
                continue
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return "STSong-Light"


def certificate_pdf(certificate: Certificate, verify_url: str) -> bytes:
    """Render the certificate (A4): header, teacher, requirement table, entries, verdict, code and QR."""
    import qrcode
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = cjk_font()
    c = certificate.content
    title = ParagraphStyle("t", fontName=font, fontSize=20, leading=28, alignment=TA_CENTER)
    body = ParagraphStyle("b", fontName=font, fontSize=10.5, leading=16, wordWrap="CJK")
    small = ParagraphStyle("s", fontName=font, fontSize=8.5, leading=12, textColor=colors.grey, wordWrap="CJK")
    grid = TableStyle(
        [
            ("FONT", (0, 0), (-1, -1), font, 9.5),
            ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EEF2F7")),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ]
    )
    story = [
        Paragraph(_("继续教育学时证明"), title),
        Spacer(1, 6 * mm),
        Paragraph(
            _("兹证明 %(name)s（身份证号 %(id)s，%(unit)s）%(year)s 年度继续教育学时情况如下：")
            % {"name": c["name"], "id": c["id_number"], "unit": c["unit"], "year": c["year"]},
            body,
        ),
        Spacer(1, 4 * mm),
    ]
    if c.get("requirements"):
        req_rows = [[_("要求"), _("应修学时"), _("已修学时"), _("是否达到")]] + [
            [Paragraph(r["label"], body), r["required"], r["actual"], _("是") if r["met"] else _("否")]
            for r in c["requirements"]
        ]
        table = Table(req_rows, colWidths=[80 * mm, 28 * mm, 28 * mm, 28 * mm])
        table.setStyle(grid)
        story += [
            Paragraph(_("适用规则：%(rule)s") % {"rule": c["rule"]}, body),
            Spacer(1, 2 * mm),
            table,
            Spacer(1, 3 * mm),
        ]
        story.append(
            Paragraph(
                _("结论：%(verdict)s（%(sentence)s）") % {"verdict": c["verdict"], "sentence": c["sentence"]}
                if not c["met"]
                else _("结论：%(verdict)s") % {"verdict": c["verdict"]},
                body,
            )
        )
        story.append(Spacer(1, 4 * mm))
    entry_rows = [[_("日期"), _("科目类别"), _("学时类型"), _("来源"), _("学时")]] + [
        [e["date"], e["category"], e["kind"], e["source"], e["hours"]] for e in c["entries"]
    ]
    entry_rows.append(["", "", "", _("合计"), c["total"]])
    entries = Table(entry_rows, colWidths=[28 * mm, 28 * mm, 44 * mm, 36 * mm, 24 * mm], repeatRows=1)
    entries.setStyle(grid)
    story += [Paragraph(_("学时明细"), body), Spacer(1, 2 * mm), entries, Spacer(1, 6 * mm)]

    qr = qrcode.QRCode(border=1, box_size=4)
    qr.add_data(verify_url)
    qr.make(fit=True)
    png = io.BytesIO()
    qr.make_image().save(png)
    png.seek(0)
    verify = Table(
        [
            [
                Image(png, width=28 * mm, height=28 * mm),
                Paragraph(
                    _("验证码：%(code)s<br/>签发日期：%(date)s<br/>扫描二维码或访问 %(url)s 核验本证明的真伪。")
                    % {"code": certificate.code, "date": c.get("issued_on", ""), "url": verify_url},
                    body,
                ),
            ]
        ],
        colWidths=[34 * mm, 130 * mm],
    )
    verify.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    story += [
        verify,
        Spacer(1, 3 * mm),
        Paragraph(_("本证明由继教通根据学时登记记录自动生成，身份证号已部分隐藏。"), small),
    ]

    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=str(_("继续教育学时证明")),
        author="继教通",
    )
    doc.build(story)
    return out.getvalue()
