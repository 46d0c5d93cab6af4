"""Excel (.xlsx) exports for every list in the portal.

``write_xlsx(out, title=..., headers=..., rows=...)`` streams rows into a
workbook with xlsxwriter's constant-memory mode (rows are flushed as they are
written, so 200,000 teachers need little memory): a bold title row, a bold
header row with a filter, frozen panes, and text cells kept as text (an ID
number never turns into 4.4E+17). ``xlsx_response(filename, ...)`` wraps it in
an HttpResponse with a Chinese file name (RFC 5987 ``filename*=UTF-8''...``).

Rows are any iterable of sequences; pass a queryset's ``values_list(...).iterator()``
or a generator so nothing is held in memory twice.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Sequence
from typing import Any, BinaryIO

from django.http import HttpResponse
from django.utils.http import content_disposition_header

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_TEXT_HEADERS = ("身份证", "证件号", "手机", "电话", "代码", "编号")


def write_xlsx(
    out: str | BinaryIO,
    *,
    title: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    sheet_name: str | None = None,
    text_columns: Sequence[int] | None = None,
    widths: Sequence[int] | None = None,
) -> int:
    """Write one sheet to ``out`` (path or binary file object); returns the number of data rows.

    Columns whose header names an ID, phone or code (or listed in ``text_columns``)
    are formatted as text. Dates and datetimes get a date format; timezone-aware
    datetimes are written in local time.
    """
    import xlsxwriter
    from django.utils import timezone

    workbook = xlsxwriter.Workbook(
        out,
        {"constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False},
    )
    try:
        sheet = workbook.add_worksheet(
            (sheet_name or title)[:31].translate(str.maketrans("[]:*?/\\", "（）：＊？／＼"))
        )
        bold_title = workbook.add_format({"bold": True, "font_size": 14})
        bold = workbook.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1})
        text_fmt = workbook.add_format({"num_format": "@"})
        date_fmt = workbook.add_format({"num_format": "yyyy-mm-dd"})
        datetime_fmt = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        text_cols = set(text_columns or ())
        text_cols |= {i for i, h in enumerate(headers) if any(t in str(h) for t in _TEXT_HEADERS)}
        for i, header in enumerate(headers):
            width = widths[i] if widths and i < len(widths) else min(max(8, len(str(header)) * 2 + 4), 40)
            if "身份证" in str(header):
                width = max(width, 21)
            sheet.set_column(i, i, width, text_fmt if i in text_cols else None)
        sheet.write_string(0, 0, title, bold_title)
        for i, header in enumerate(headers):
            sheet.write_string(1, i, str(header), bold)
        sheet.freeze_panes(2, 0)
        n = 0
        for n, row in enumerate(rows, start=1):
            r = n + 1
            for c, value in enumerate(row):
                if value is None or value == "":
                    continue
                cls = value.__class__
                if cls is str:
                    sheet.write_string(r, c, value, text_fmt if c in text_cols else None)
                elif cls is bool:
                    sheet.write_string(r, c, "是" if value else "否")
                elif cls is int or cls is float:
                    if c in text_cols:
                        sheet.write_string(r, c, str(value), text_fmt)
                    else:
                        sheet.write_number(r, c, value)
                elif isinstance(value, dt.datetime):
                    if timezone.is_aware(value):
                        value = timezone.localtime(value).replace(tzinfo=None)
                    sheet.write_datetime(r, c, value, datetime_fmt)
                elif isinstance(value, dt.date):
                    sheet.write_datetime(r, c, dt.datetime.combine(value, dt.time()), date_fmt)
                else:
                    sheet.write_string(r, c, str(value), text_fmt if c in text_cols else None)
        if headers:
            sheet.autofilter(1, 0, max(n, 1) + 1, len(headers) - 1)
    finally:
        workbook.close()
    return n


def xlsx_bytes(*, title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], **kwargs: Any) -> bytes:
    out = io.BytesIO()
    write_xlsx(out, title=title, headers=headers, rows=rows, **kwargs)
    return out.getvalue()


def xlsx_download(filename: str, content: bytes) -> HttpResponse:
    """An attachment response for ready .xlsx bytes (Chinese file names are fine)."""
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    response["Content-Length"] = str(len(content))
    return response


def xlsx_response(
    filename: str, *, title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], **kwargs: Any
) -> HttpResponse:
    """Export rows as an .xlsx download named ``filename`` (".xlsx" added when missing)."""
    if not filename.lower().endswith(".xlsx"):
        filename += ".xlsx"
    return xlsx_download(filename, xlsx_bytes(title=title, headers=headers, rows=rows, **kwargs))
