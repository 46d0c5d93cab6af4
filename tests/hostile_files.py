"""Unusable and hostile spreadsheet uploads, generated (nothing binary is checked in).

``corpus(path, headers, limit)`` writes one file per kind into ``path`` and returns {kind: Path}.
``headers`` is the importer's header row, so that the files that get as far as the
header check (a million rows, a stray cell, a huge cell...) are otherwise plausible.
``reader_peak(path)`` reads one file as the roster import does, in a fresh interpreter, and
gives that process's peak resident memory and what the reader answered.
Used by tests/integration/test_hostile_uploads.py and bench/hostile_uploads.py.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
    'Target="sharedStrings.xml"/></Relationships>'
)
SHEET_OPEN = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
SHEET_CLOSE = "</sheetData></worksheet>"
EMPTY_STRINGS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="0" uniqueCount="0"/>'
)


def workbook_xml(state: str = "visible") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f'<sheets><sheet name="Sheet1" sheetId="1" state="{state}" r:id="rId1"/></sheets></workbook>'
    )


def column_letters(n: int) -> str:
    letters = ""
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def cell(ref: str, value: object) -> str:
    if isinstance(value, int | float):
        return f'<c r="{ref}"><v>{value}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'


def row(number: int, values: Sequence[object], first_column: int = 1) -> str:
    cells = "".join(cell(f"{column_letters(first_column + i)}{number}", v) for i, v in enumerate(values))
    return f'<row r="{number}">{cells}</row>'


def xlsx(
    sheet: bytes | str,
    *,
    shared_strings: bytes | str = EMPTY_STRINGS,
    workbook: str | None = None,
    compresslevel: int = 6,
) -> bytes:
    """A minimal .xlsx around the given worksheet XML."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES)
        zf.writestr("_rels/.rels", ROOT_RELS)
        zf.writestr("xl/workbook.xml", workbook or workbook_xml())
        zf.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        zf.writestr("xl/sharedStrings.xml", shared_strings)
        zf.writestr("xl/worksheets/sheet1.xml", sheet)
    return out.getvalue()


def sheet_of(rows: Sequence[str]) -> str:
    return SHEET_OPEN + "".join(rows) + SHEET_CLOSE


def plausible_row(headers: Sequence[str]) -> list[object]:
    return ["x" for _ in headers]


# --------------------------------------------------------------------------- the kinds


def empty(headers: Sequence[str], limit: int) -> bytes:
    return b""


def not_a_workbook(headers: Sequence[str], limit: int) -> bytes:
    return (",".join(headers) + "\n" + ",".join("x" for _ in headers) + "\n").encode()


def old_xls(headers: Sequence[str], limit: int) -> bytes:
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 4096


def zip_without_workbook(headers: Sequence[str], limit: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("readme.txt", "not a workbook")
    return out.getvalue()


def truncated(headers: Sequence[str], limit: int) -> bytes:
    data = xlsx(sheet_of([row(1, headers), row(2, plausible_row(headers))]))
    return data[: len(data) // 2]


def corrupt_sheet(headers: Sequence[str], limit: int) -> bytes:
    """A well-formed zip whose worksheet's compressed bytes are garbage (bad deflate data, bad CRC)."""
    data = bytearray(xlsx(sheet_of([row(1, headers), row(2, plausible_row(headers))] * 50)))
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("xl/worksheets/sheet1.xml")
    start = _data_offset(bytes(data), info)
    for i in range(start + 4, start + info.compress_size - 4):
        data[i] ^= 0x5A
    return bytes(data)


Segments = list[tuple[bytes, int]]  # (chunk, how many times): a member's body without building it


def _bomb_sheet(headers: Sequence[str], size: int) -> Segments:
    """A worksheet of about ``size`` bytes, almost all of it whitespace inside the sheet data."""
    head = (SHEET_OPEN + row(1, headers)).encode()
    tail = (row(2, plausible_row(headers)) + SHEET_CLOSE).encode()
    return [(head, 1), (b" " * (1 << 20), size >> 20), (tail, 1)]


def _deflate(segments: Segments, declared: int | None) -> tuple[bytes, int, int]:
    """(raw deflate data, CRC-32, size) of the body; with ``declared``, the CRC of that prefix only.

    Each segment is flushed (Z_FULL_FLUSH) so that a repeated chunk compresses to the same bytes
    every time: compressed once, repeated, and a 1 GiB member costs a second to make.
    """
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    out, crc, size = [], 0, 0
    for chunk, times in segments:
        first = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)
        again = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH) if times > 1 else b""
        out.append(first + again * (times - 1))
        for _ in range(times):
            if declared is None or size < declared:
                crc = zlib.crc32(chunk if declared is None else chunk[: declared - size], crc)
            size += len(chunk)
    out.append(packer.flush())
    return b"".join(out), crc, size if declared is None else declared


def _deflated_zip(members: dict[str, Segments], *, lie: dict[str, int] | None = None) -> bytes:
    """A zip written by hand, so that a member's declared (uncompressed) size can lie."""
    lie = lie or {}
    out = io.BytesIO()
    central = []
    for name, segments in members.items():
        compressed, crc, size = _deflate(segments, lie.get(name))
        offset = out.tell()
        encoded = name.encode()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(compressed), size, len(encoded), 0))
        out.write(encoded)
        out.write(compressed)
        header = (0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(compressed), size, len(encoded), 0, 0, 0, 0, 0, offset)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", *header) + encoded)
    start = out.tell()
    for entry in central:
        out.write(entry)
    end = out.tell()
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), end - start, start, 0))
    return out.getvalue()


def _workbook_members(sheet: Segments, shared_strings: Segments | None = None) -> dict[str, Segments]:
    return {
        "[Content_Types].xml": [(CONTENT_TYPES.encode(), 1)],
        "_rels/.rels": [(ROOT_RELS.encode(), 1)],
        "xl/workbook.xml": [(workbook_xml().encode(), 1)],
        "xl/_rels/workbook.xml.rels": [(WORKBOOK_RELS.encode(), 1)],
        "xl/sharedStrings.xml": shared_strings or [(EMPTY_STRINGS.encode(), 1)],
        "xl/worksheets/sheet1.xml": sheet,
    }


BOMB_BYTES = 1 << 30  # 1 GiB unzipped from about 1 MB


def zip_bomb(headers: Sequence[str], limit: int) -> bytes:
    """Honest headers: the worksheet says it unzips to 1 GiB, and it does."""
    return _deflated_zip(_workbook_members(_bomb_sheet(headers, BOMB_BYTES)))


def understated_sizes(headers: Sequence[str], limit: int) -> bytes:
    """The same bomb, but the zip headers claim the worksheet is 4 KB (with a CRC to match that prefix)."""
    return _deflated_zip(_workbook_members(_bomb_sheet(headers, BOMB_BYTES)), lie={"xl/worksheets/sheet1.xml": 4096})


def shared_strings_bomb(headers: Sequence[str], limit: int) -> bytes:
    """Twenty million one-letter shared strings (each a string object for a reader) in a few hundred KB."""
    per_chunk, chunks = 50_000, 400
    n = per_chunk * chunks
    head = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{n}" uniqueCount="{n}">'
    ).encode()
    strings = [(head, 1), (b"<si><t>a</t></si>" * per_chunk, chunks), (b"</sst>", 1)]
    sheet = [(sheet_of([row(1, headers), row(2, plausible_row(headers))]).encode(), 1)]
    return _deflated_zip(_workbook_members(sheet, strings))


def entity_expansion(headers: Sequence[str], limit: int) -> bytes:
    """ "Billion laughs": nested XML entities in the worksheet."""
    entities = '<!ENTITY a0 "lol">' + "".join(f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10))
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<!DOCTYPE worksheet [{entities}]>"
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        + row(1, headers)
        + '<row r="2"><c r="A2" t="inlineStr"><is><t>&a9;</t></is></c></row>'
        + SHEET_CLOSE
    )
    return xlsx(sheet)


def stray_cell(headers: Sequence[str], limit: int) -> bytes:
    """A real header and row, and one stray space at XFD1048576 (Excel's last cell)."""
    return xlsx(sheet_of([row(1, headers), row(2, plausible_row(headers)), row(1048576, [" "], 16384)]))


def million_rows(headers: Sequence[str], limit: int) -> bytes:
    body = "".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>' for r in range(2, 1_000_002))
    return xlsx(SHEET_OPEN + row(1, headers) + body + SHEET_CLOSE, compresslevel=1)


def huge_cell(headers: Sequence[str], limit: int) -> bytes:
    """A cell of a million characters (Excel stops at 32,767)."""
    return xlsx(sheet_of([row(1, headers), row(2, ["字" * 1_000_000, *plausible_row(headers)[1:]])]))


def wrong_header(headers: Sequence[str], limit: int) -> bytes:
    return xlsx(sheet_of([row(1, ["甲", "乙", "丙"]), row(2, [1, 2, 3])]))


def header_only(headers: Sequence[str], limit: int) -> bytes:
    return xlsx(sheet_of([row(1, headers)]))


def hidden_sheet_only(headers: Sequence[str], limit: int) -> bytes:
    return xlsx(sheet_of([row(1, headers), row(2, plausible_row(headers))]), workbook=workbook_xml("hidden"))


def malformed_xml(headers: Sequence[str], limit: int) -> bytes:
    return xlsx(SHEET_OPEN + row(1, headers) + '<row r="2"><c r="A2" t="inlineStr"><is><t>x</is></row><c')


def over_size_limit(headers: Sequence[str], limit: int) -> bytes:
    return b"PK\x03\x04" + b"\0" * limit


KINDS: dict[str, Callable[[Sequence[str], int], bytes]] = {
    "empty": empty,
    "not_a_workbook": not_a_workbook,
    "old_xls": old_xls,
    "zip_without_workbook": zip_without_workbook,
    "truncated": truncated,
    "corrupt_sheet": corrupt_sheet,
    "zip_bomb": zip_bomb,
    "understated_sizes": understated_sizes,
    "shared_strings_bomb": shared_strings_bomb,
    "entity_expansion": entity_expansion,
    "stray_cell": stray_cell,
    "million_rows": million_rows,
    "huge_cell": huge_cell,
    "wrong_header": wrong_header,
    "header_only": header_only,
    "hidden_sheet_only": hidden_sheet_only,
    "malformed_xml": malformed_xml,
    "over_size_limit": over_size_limit,
}


def corpus(path: Path, headers: Sequence[str], limit: int) -> dict[str, Path]:
    """One file per kind under ``path`` (``limit``: the upload size limit, for the file just over it)."""
    path.mkdir(parents=True, exist_ok=True)
    files = {}
    for kind, make in KINDS.items():
        files[kind] = path / f"{kind}.xlsx"
        files[kind].write_bytes(make(headers, limit))
    return files


def _data_offset(data: bytes, info: zipfile.ZipInfo) -> int:
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26 : info.header_offset + 30])
    return info.header_offset + 30 + name_len + extra_len


# --------------------------------------------------------------------------- files at the reader's limits
# Legitimate in form, each as big as portal.importing lets a file be in one respect: they give the
# reader's worst memory (bench/hostile_uploads.py), the figure the README's budget is built on.


def _unique_text(n: int, width: int) -> str:
    """A distinct string of ``width`` CJK characters for every n (so nothing is shared or interned)."""
    digits = "零一二三四五六七八九"
    text = "".join(digits[int(d)] for d in str(n))
    return (text + "字" * width)[:width] if len(text) < width else text


def largest_inline_sheet(headers: Sequence[str], cells: int, unzipped: int, max_rows: int) -> bytes:
    """As many cells as allowed, each a distinct inline string, filling the unzipped-bytes allowance."""
    width = len(headers)
    rows = min(cells // width - 1, max_rows)
    cells = rows * width
    overhead = len(cell("H999999", "")) + 4
    chars = max(1, (unzipped * 9 // 10 // cells - overhead) // 3)
    body = "".join(row(r, [_unique_text(r * width + c, chars) for c in range(width)]) for r in range(2, rows + 2))
    return xlsx(SHEET_OPEN + row(1, headers) + body + SHEET_CLOSE, compresslevel=1)


def largest_shared_strings(headers: Sequence[str], cells: int, unzipped: int, max_rows: int) -> bytes:
    """As many cells as allowed, each pointing at its own shared string, filling the allowance."""
    width = len(headers)
    rows = min(cells // width - 1, max_rows)
    cells = rows * width
    sheet_bytes = cells * len('<c r="H999999" t="s"><v>9999999</v></c>') + rows * 20
    chars = max(1, ((unzipped * 9 // 10 - sheet_bytes) // cells - len("<si><t></t></si>")) // 3)
    strings = "".join(f"<si><t>{_unique_text(i, chars)}</t></si>" for i in range(cells))
    shared = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<si><t>{'</t></si><si><t>'.join(headers)}</t></si>{strings}</sst>"
    )
    head = "".join(f'<c r="{column_letters(c + 1)}1" t="s"><v>{c}</v></c>' for c in range(width))
    letters = [column_letters(c + 1) for c in range(width)]
    body = "".join(
        f'<row r="{r}">'
        + "".join(f'<c r="{letters[c]}{r}" t="s"><v>{width + (r - 2) * width + c}</v></c>' for c in range(width))
        + "</row>"
        for r in range(2, rows + 2)
    )
    return xlsx(SHEET_OPEN + f'<row r="1">{head}</row>' + body + SHEET_CLOSE, shared_strings=shared, compresslevel=9)


def longest_cells(headers: Sequence[str], cells: int, unzipped: int, max_rows: int) -> bytes:
    """The allowance filled with cells of Excel's longest text (32,767 characters)."""
    width = len(headers)
    count = unzipped * 9 // 10 // (32_767 * 3)
    rows = [row(r, ["字" * 32_767] * width) for r in range(2, count // width + 2)]
    return xlsx(sheet_of([row(1, headers), *rows]), compresslevel=1)


LIMIT_PROBES: dict[str, Callable[[Sequence[str], int, int, int], bytes]] = {
    "largest_inline_sheet": largest_inline_sheet,
    "largest_shared_strings": largest_shared_strings,
    "longest_cells": longest_cells,
}


# --------------------------------------------------------------------------- measuring the reader

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Reading:
    peak_mb: int  # the reading process's peak resident memory (VmHWM), interpreter and Django included
    base_mb: int  # the same just before the file was read
    seconds: float
    outcome: str  # "refused: <message>", "rows: N, errors: M", or "crash: <exception>"


def reader_peak(path: Path, timeout: float = 120) -> Reading:
    """Read ``path`` with the roster's columns (the largest import) in a fresh interpreter."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    done = subprocess.run(
        [sys.executable, "-m", "tests.hostile_files", str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        return Reading(0, 0, 0.0, f"crash: exit {done.returncode}: {done.stderr[-500:]}")
    return Reading(**json.loads(done.stdout.splitlines()[-1]))


def _high_water_mb() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) // 1024 for line in status if line.startswith("VmHWM"))


def _read_one(path: str) -> None:
    import django

    django.setup()
    from portal.importing import ImportFileError, read_table
    from portal.models import Stage, Unit, UnitKind
    from portal.roster_import import ROSTER_MAX_ROWS, roster_columns

    columns = roster_columns(Unit(kind=UnitKind.DISTRICT), [Stage(code="CZ", name="初中")])
    base = _high_water_mb()
    started = time.perf_counter()
    try:
        table = read_table(path, columns, max_rows=ROSTER_MAX_ROWS)
        outcome = f"rows: {len(table)}, errors: {len(table.errors)}"
    except ImportFileError as exc:
        outcome = f"refused: {exc}"
    except Exception as exc:  # what the test looks for: anything but a clear answer
        outcome = f"crash: {type(exc).__name__}: {exc}"[:500]
    seconds = round(time.perf_counter() - started, 2)
    print(json.dumps({"peak_mb": _high_water_mb(), "base_mb": base, "seconds": seconds, "outcome": outcome}))


if __name__ == "__main__":
    _read_one(sys.argv[1])
