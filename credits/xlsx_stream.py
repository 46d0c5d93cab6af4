"""A minimal streaming .xlsx writer for very long, plain lists (the city's 250,000-teacher export).

xlsxwriter spends most of its time per cell (type dispatch, shared-string
table, cell records); for a plain table of text and numbers the sheet XML can
be written directly, a chunk of rows at a time, straight into the zip stream.
bench/compliance.py measures it against xlsxwriter's constant-memory mode.

Output: one worksheet; a bold title row and a bold header row with an
autofilter; panes frozen below the header; strings as inline strings (so an
ID number stays text, never 4.4E+17); int/float/Decimal as numbers; None as
an empty cell. Memory stays flat: nothing but one chunk of rows is held.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, BinaryIO

_NEEDS_ESCAPE = re.compile("[&<>\x00-\x08\x0b\x0c\x0e-\x1f]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
    'Target="styles.xml"/></Relationships>'
)
STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<fonts count="3"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="14"/><name val="Calibri"/></font></fonts>'
    '<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="FFF2F2F2"/><bgColor indexed="64"/></patternFill></fill>'
    "</fills>"
    '<borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border>'
    '<border><left style="thin"><color auto="1"/></left><right style="thin"><color auto="1"/></right>'
    '<top style="thin"><color auto="1"/></top><bottom style="thin"><color auto="1"/></bottom><diagonal/></border>'
    "</borders>"
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="2" borderId="1" xfId="0" applyFont="1" applyFill="1" applyBorder="1"/>'
    '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
TITLE, HEADER, TEXT = 1, 2, 3


def _escape(text: str) -> str:
    if not _NEEDS_ESCAPE.search(text):
        return text
    text = _CONTROL.sub("", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _string_cell(ref: str, text: str, style: int = 0) -> str:
    s = f' s="{style}"' if style else ""
    return f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{_escape(text)}</t></is></c>'


def write_rows(
    out: str | BinaryIO,
    *,
    title: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    sheet_name: str = "Sheet1",
    widths: Sequence[int] | None = None,
    chunk: int = 2000,
) -> int:
    """Write the sheet to ``out`` (path or binary file); return the number of data rows."""
    letters = [column_letter(i) for i in range(max(len(headers), 1))]
    last = letters[-1]
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES)
        zf.writestr("_rels/.rels", ROOT_RELS)
        zf.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        zf.writestr("xl/styles.xml", STYLES)
        name = _escape(sheet_name[:31].translate(str.maketrans("[]:*?/\\", "（）：＊？／＼")))
        n = 0
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            cols = "".join(
                f'<col min="{i + 1}" max="{i + 1}" width="{w}" customWidth="1"/>'
                for i, w in enumerate(widths or [max(10, min(40, len(str(h)) * 2 + 4)) for h in headers])
            )
            head = (
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                '<sheetViews><sheetView workbookViewId="0"><pane ySplit="2" topLeftCell="A3" activePane="bottomLeft" '
                'state="frozen"/></sheetView></sheetViews>'
                f"<cols>{cols}</cols><sheetData>"
                f'<row r="1">{_string_cell("A1", title, TITLE)}</row>'
                '<row r="2">'
                + "".join(_string_cell(f"{letters[i]}2", str(h), HEADER) for i, h in enumerate(headers))
                + "</row>"
            )
            sheet.write(head.encode())
            parts: list[str] = []
            for n, row in enumerate(rows, start=1):
                r = n + 2
                cells = [f'<row r="{r}">']
                for i, value in enumerate(row):
                    cls = value.__class__
                    if value is None or value == "":
                        continue
                    if cls is str:
                        text = value if not _NEEDS_ESCAPE.search(value) else _escape(value)
                        cells.append(f'<c r="{letters[i]}{r}" t="inlineStr"><is><t>{text}</t></is></c>')
                    elif cls is int or cls is float or cls is Decimal:
                        cells.append(f'<c r="{letters[i]}{r}"><v>{value}</v></c>')
                    elif cls is bool:
                        cells.append(
                            f'<c r="{letters[i]}{r}" t="inlineStr"><is><t>{"是" if value else "否"}</t></is></c>'
                        )
                    else:
                        cells.append(f'<c r="{letters[i]}{r}" t="inlineStr"><is><t>{_escape(str(value))}</t></is></c>')
                cells.append("</row>")
                parts.append("".join(cells))
                if len(parts) >= chunk:
                    sheet.write("".join(parts).encode())
                    parts = []
            if parts:
                sheet.write("".join(parts).encode())
            sheet.write(f'</sheetData><autoFilter ref="A2:{last}{max(n, 1) + 2}"/></worksheet>'.encode())
        zf.writestr(
            "xl/workbook.xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f'<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets>'
            '<definedNames><definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">'
            f"'{name}'!$A$2:${last}${max(n, 1) + 2}</definedName></definedNames></workbook>",
        )
    return n
