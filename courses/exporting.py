"""xlsx downloads of the course lists (streamed from an in-memory workbook; lists are bounded by scope)."""

import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

import xlsxwriter
from django.http import HttpResponse


def xlsx_response(filename: str, sheet: str, headers: Sequence[str], rows: Iterable[Sequence]) -> HttpResponse:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False})
    worksheet = workbook.add_worksheet(str(sheet)[:31])
    bold = workbook.add_format({"bold": True})
    text = workbook.add_format({"num_format": "@"})
    for col, header in enumerate(headers):
        worksheet.write_string(0, col, str(header), bold)
        worksheet.set_column(col, col, 16, text)
    for r, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
                worksheet.write_number(r, col, float(value))
            elif value is None:
                worksheet.write_blank(r, col, None)
            else:
                # Strings stay strings: ID numbers must never become 4.4e17.
                worksheet.write_string(r, col, str(value))
    worksheet.freeze_panes(1, 0)
    workbook.close()
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
