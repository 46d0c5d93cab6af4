"""Generic all-or-nothing spreadsheet import: read, clean, validate, report.

Used by the roster import (portal.roster_import) and meant for every other import
(course catalogue, provider result sheets). An importer declares its columns,
reads the file into a column-oriented :class:`Table`, checks rows, and writes
only when no row has an error::

    COLUMNS = [
        Column("name", "姓名", parse=text(50)),
        Column("id_number", "身份证号", aliases=("身份证号码",), parse=id_number),
        Column("hours", "学时", parse=parse_decimal),            # your own: value -> value or ValueError("…")
        Column("passed", "结果", parse=choice({"合格": True, "不合格": False}, "结果")),
        Column("note", "备注", required=False, default=""),
    ]

    def thing_import(file, *, dry_run=False) -> ImportResult:
        table = read_table(file, COLUMNS)            # ImportFileError for a bad file
        table.check_unique("id_number", "与第 %(row)d 行重复")  # optional: duplicates name both rows
        result = ImportResult(errors=table.errors, dry_run=dry_run)
        for rec in table.records():                  # rows without errors, as dicts (+ rec.row, rec.index)
            ...                                      # domain checks: table.add_error(rec.index, "hours", "…")
        table.sort_errors()
        if result.errors or dry_run:
            return result                            # nothing written
        with transaction.atomic():
            ...                                      # bulk_create / bulk_update / COPY, never a save per row
        result.written = True
        return result

Parsers
    ``parse(value)`` gets a cleaned, non-blank cell and returns the value to
    keep or raises ValueError with a Chinese message (the cell is then None
    and the row is in ``table.bad``). It must be pure: in a column with few
    distinct values (学段, 状态, codes) each distinct value is parsed once.
    Ready-made: :func:`text`, :func:`choice`, :func:`id_number` (canonical
    18-character number, fast path for the common case), :func:`mobile`.

Reading
    python-calamine (fast) reads .xlsx files; openpyxl stays for writing
    templates. The header row is looked for among the first ``HEADER_SCAN_ROWS``
    rows, so title rows above it are fine; blank rows and columns are skipped;
    every text cell is NFKC-folded (full-width letters, digits and spaces) and
    stripped; a whole-number float below 1e15 becomes an int (a mobile number
    typed as a number); a float of 1e15 or more is kept as a float so that
    :func:`portal.idcard.check` can say that Excel lost its last digits. Headers
    match ignoring spaces, case, "*" marks and parenthesised notes such as
    "（必填）".

Errors
    :class:`ImportFileError` — the whole file is unusable (not an .xlsx, empty,
    too big, header missing); its message is a complete Chinese sentence.
    :class:`RowError` — one cell; ``str()`` is "第 N 行 列名：问题", N as Excel
    numbers rows. :func:`errors_workbook` turns a list of them into an .xlsx
    for download.

Safety (a worker's memory stays within a budget for any upload; see README "Imports")
    Files over ``settings.IMPORT_MAX_BYTES`` are refused before any parsing.
    Before python-calamine sees the file, :func:`_survey` inflates every part
    of the zip itself, in 1 MB pieces that it counts and drops: a part that
    unzips to more than its header says (headers that understate a bomb), or
    parts that unzip to more than ``MAX_UNZIPPED_BYTES`` together, are refused
    at that point, as are more than ``MAX_CELLS`` shared strings (each one a
    string the reader would keep). On the way it finds each worksheet's extent
    from the cell references, so that a sheet whose used range python-calamine
    could not hold (it allocates rows x columns at once: a stray cell at
    XFD1048576, a million rows, more rows than the importer takes) is refused
    before it is read. At most ``MAX_ERRORS`` messages are kept for a file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import html
import io
import itertools
import operator
import os
import posixpath
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from portal.text import clean_name, drop_unsafe

HEADER_SCAN_ROWS = 20
MAX_COLUMNS = 200  # used columns of a sheet (a stray cell far to the right is refused)
# Used rows x used columns (python-calamine keeps the range dense): a 300,000-row roster of 8 columns.
# With MAX_UNZIPPED_BYTES it bounds the reader's memory (bench/hostile_uploads.py measures it).
MAX_CELLS = 2_500_000
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024  # counted while inflating; a 300,000-row roster unzips to 144 MB
MAX_ERRORS = 1_000  # messages kept for one file
# What reading one upload (of at most IMPORT_MAX_BYTES) may add to a process's resident memory, in MB:
# the README's stated budget, checked by tests/integration/test_hostile_uploads.py (every hostile kind)
# and measured at the limits by bench/hostile_uploads.py.
READER_BUDGET_MB = 600
_PIECE = 1 << 20  # inflated bytes handled at a time

_OPTIONAL_HEADER_NOTE = re.compile(r"\*|\([^)]*\)|:$")


class ImportFileError(Exception):
    """The file as a whole cannot be imported; ``str()`` is a Chinese sentence saying what to do."""


@dataclass(frozen=True)
class RowError:
    row: int  # as Excel shows it (1-based)
    column: str  # the header as the template names it
    message: str

    def __str__(self) -> str:
        if not self.column:
            return self.message
        return _("第 %(row)d 行 %(column)s：%(message)s") % {
            "row": self.row,
            "column": self.column,
            "message": self.message,
        }


@dataclass(frozen=True)
class Column:
    """One column of an import.

    ``required``: the header must be in the file and no cell may be blank.
    Optional columns may be missing from the file (their key is then absent from
    :attr:`Table.present` and from every record, so an update keeps the stored
    value) and a blank cell yields ``default``.
    ``parse(value)`` gets the cleaned non-blank cell (str, int, float, date...)
    and returns the stored value or raises ``ValueError`` with a Chinese message
    saying what is wrong and how to fix it.
    """

    key: str
    header: str
    aliases: tuple[str, ...] = ()
    required: bool = True
    parse: Callable[[Any], Any] | None = None
    default: Any = None

    def names(self) -> set[str]:
        return {normalize_header(n) for n in (self.header, *self.aliases)}


@dataclass(frozen=True)
class PreviewRow:
    """One row of a dry run as the UI shows it."""

    row: int
    action: str  # "create" | "update" | "unchanged"
    values: dict[str, str]  # header -> value as it will be stored (display form)
    changed: tuple[str, ...] = ()  # headers whose value changes (updates only)


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    preview: list[PreviewRow] = field(default_factory=list)
    dry_run: bool = False
    written: bool = False  # True once the rows are in the database

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged

    @property
    def summary(self) -> str:
        """The line scripts parse: "created N, updated M, unchanged K"."""
        return f"created {self.created}, updated {self.updated}, unchanged {self.unchanged}"

    @property
    def summary_zh(self) -> str:
        return _("新增 %(created)d 条，更新 %(updated)d 条，未变 %(unchanged)d 条") % {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
        }

    def error_lines(self) -> list[str]:
        return [str(e) for e in self.errors]


# --------------------------------------------------------------------------- cleaning


def normalize_header(value: object) -> str:
    """ "* 身份证号（必填）" -> "身份证号"."""
    text = unicodedata.normalize("NFKC", str(value or ""))
    text = re.sub(r"\s+", "", text)
    return _OPTIONAL_HEADER_NOTE.sub("", text).lower()


def clean_cell(value: Any) -> Any:
    """Text NFKC-folded and stripped; whole floats below 1e15 as int; "" for blank."""
    cls = value.__class__
    if cls is str:
        if value.isascii():
            return value.strip()
        return unicodedata.normalize("NFKC", value).strip().strip("\u200b\ufeff").strip()
    if cls is float:
        if value.is_integer() and -1e15 < value < 1e15:
            return int(value)
        return value
    if value is None:
        return ""
    return value


def is_blank(value: Any) -> bool:
    return value == "" or value is None


# --------------------------------------------------------------------------- reading


@dataclass
class Table:
    """The data rows of one sheet, column by column, with the errors found so far."""

    columns: Sequence[Column]
    sheet_name: str
    header_row: int
    present: frozenset[str]  # keys of the columns found in the header
    rows: list[int]  # Excel row number of each data row
    values: dict[str, list[Any]]  # key -> parsed value per data row (None where invalid)
    errors: list[RowError] = field(default_factory=list)
    bad: set[int] = field(default_factory=set)  # indexes (into rows) that have an error

    def __len__(self) -> int:
        return len(self.rows)

    def add_error(self, index: int, key_or_header: str, message: str) -> None:
        """Record an error for data row ``index`` (0-based into ``rows``).

        Past ``MAX_ERRORS`` the row is still marked bad but no more messages are kept: one last
        line says so (a sheet of a million wrong cells must not become a million messages).
        """
        self.bad.add(index)
        if len(self.errors) >= MAX_ERRORS:
            if len(self.errors) == MAX_ERRORS:
                self.errors.append(
                    RowError(
                        self.rows[index],
                        "",
                        _("错误太多，以上只列出前 %(n)d 处；请先改正这些，再重新导入") % {"n": MAX_ERRORS},
                    )
                )
            return
        header = next((c.header for c in self.columns if c.key == key_or_header), key_or_header)
        self.errors.append(RowError(self.rows[index], header, message))

    def check_unique(self, key: str, message: str | None = None) -> None:
        """A value twice in the file is an error on both rows, each naming the other.

        ``message`` has a ``%(row)d`` placeholder for the other row.
        """
        message = message or _("与第 %(row)d 行重复，同一值只能出现一次")
        first: dict[Any, int] = {}
        flagged: set[int] = set()
        for i, value in enumerate(self.values[key]):
            if value is None or value == "":
                continue
            j = first.setdefault(value, i)
            if j != i:
                self.add_error(i, key, message % {"row": self.rows[j]})
                if j not in flagged:
                    flagged.add(j)
                    self.add_error(j, key, message % {"row": self.rows[i]})

    def sort_errors(self) -> None:
        order = {c.header: n for n, c in enumerate(self.columns)}
        self.errors.sort(key=lambda e: (e.row if e.column else 1 << 62, order.get(e.column, 99)))

    def records(self, *, include_bad: bool = False) -> Iterator[Record]:
        keys = [k for k in self.values]
        cols = [self.values[k] for k in keys]
        for i, row in enumerate(self.rows):
            if i in self.bad and not include_bad:
                continue
            rec = Record(zip(keys, (c[i] for c in cols), strict=True))
            rec.row, rec.index = row, i
            yield rec


class Record(dict):
    """A data row as a dict of column key -> value, with ``row`` (Excel number) and ``index``."""

    row: int
    index: int


def _file_bytes(file: Any) -> bytes:
    """The upload's bytes, refusing anything over IMPORT_MAX_BYTES before reading it."""
    limit = settings.IMPORT_MAX_BYTES
    too_big = ImportFileError(
        _("文件太大（超过 %(mb)d MB），请删去无关的工作表和格式，或分几次导入") % {"mb": limit // (1024 * 1024)}
    )
    if isinstance(file, bytes | bytearray | memoryview):
        if len(file) > limit:
            raise too_big
        return bytes(file)
    if isinstance(file, str | os.PathLike):
        if os.path.getsize(file) > limit:
            raise too_big
        with open(file, "rb") as fh:
            return fh.read()
    size = getattr(file, "size", None)  # Django's UploadedFile
    if size is None:
        pos = file.tell()
        file.seek(0, os.SEEK_END)
        size = file.tell() - pos
        file.seek(pos)
    if size > limit:
        raise too_big
    if hasattr(file, "seek"):
        file.seek(0)
    data = file.read(limit + 1)
    if len(data) > limit:
        raise too_big
    return data


_NOT_XLSX = _("文件不是 Excel 的 .xlsx 格式，请用 Excel 或 WPS 打开后“另存为” .xlsx 再导入")


_DAMAGED = _("文件已损坏（压缩内容与文件记录不符），请用 Excel 或 WPS 打开后“另存为” .xlsx 再导入")
_TOO_BIG_UNZIPPED = _("文件解压后过大，请删去无关的工作表和格式后再导入")


def _open_zip(data: bytes) -> zipfile.ZipFile:
    if not data:
        raise ImportFileError(_("文件是空的，请选择填好的 .xlsx 文件"))
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ImportFileError(
            _("这是旧版 Excel（.xls）文件或设了打开密码的文件，请用 Excel 或 WPS 打开（取消密码）后另存为 .xlsx 再导入")
        )
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        names = set(zf.namelist())
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise ImportFileError(_NOT_XLSX) from None
    if "xl/workbook.xml" not in names:
        raise ImportFileError(_NOT_XLSX)
    if sum(i.file_size for i in zf.infolist()) > MAX_UNZIPPED_BYTES:
        raise ImportFileError(_TOO_BIG_UNZIPPED)
    return zf


def _inflate(data: bytes, info: zipfile.ZipInfo, budget: list[int]) -> Iterator[bytes]:
    """The part's bytes as they unzip, ``_PIECE`` at a time, read from ``data`` (the whole upload).

    Inflated here rather than by zipfile, which trusts the header's size, and counted: a part
    that unzips to more (or less) than its header says is refused as damaged, and ``budget[0]``
    (bytes still allowed for the whole file) going below zero refuses the file as too big.
    """
    start = info.header_offset
    if data[start : start + 4] != b"PK\x03\x04" or info.flag_bits & 0x1:
        raise ImportFileError(_DAMAGED)
    name_length, extra_length = (
        int.from_bytes(data[start + 26 : start + 28], "little"),
        int.from_bytes(data[start + 28 : start + 30], "little"),
    )
    begin = start + 30 + name_length + extra_length
    packed = memoryview(data)[begin : begin + info.compress_size]
    if info.compress_type == zipfile.ZIP_STORED:
        pieces: Iterator[bytes] = (bytes(packed[i : i + _PIECE]) for i in range(0, len(packed), _PIECE))
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        pieces = _inflated_pieces(packed)
    else:
        raise ImportFileError(_NOT_XLSX)
    produced = 0
    for piece in pieces:
        produced += len(piece)
        budget[0] -= len(piece)
        if produced > info.file_size:
            raise ImportFileError(_DAMAGED)
        if budget[0] < 0:
            raise ImportFileError(_TOO_BIG_UNZIPPED)
        yield piece
    if produced != info.file_size:
        raise ImportFileError(_DAMAGED)


def _inflated_pieces(packed: memoryview) -> Iterator[bytes]:
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        for i in range(0, len(packed), 1 << 16):
            piece = inflater.decompress(packed[i : i + (1 << 16)], _PIECE)
            while True:
                if piece:
                    yield piece
                if not inflater.unconsumed_tail:
                    break
                piece = inflater.decompress(inflater.unconsumed_tail, _PIECE)
        rest = inflater.flush()
    except zlib.error:
        raise ImportFileError(_DAMAGED) from None
    if rest:
        yield rest
    if not inflater.eof:
        raise ImportFileError(_DAMAGED)


def _tag_aligned(pieces: Iterator[bytes]) -> Iterator[bytes]:
    """The same bytes, re-cut so that no tag is split between two pieces (regexes see whole tags)."""
    carry = b""
    for piece in pieces:
        piece = carry + piece if carry else piece
        cut = piece.rfind(b"<", max(0, len(piece) - 256))
        if cut <= 0:
            carry = b""
            yield piece
        else:
            carry = piece[cut:]
            yield piece[:cut]
    if carry:
        yield carry


@dataclass
class _Extent:
    """A worksheet's used range as its cell references give it (python-calamine allocates rows x columns)."""

    rows: int = 0
    columns: int = 0


def _survey(data: bytes, zf: zipfile.ZipFile) -> dict[str, _Extent]:
    """Inflate every part once (counted, nothing kept): the extent of each worksheet part, by path.

    Refuses (ImportFileError) a damaged or too big file, a sheet whose cells do not say where they
    are, and more shared strings than ``MAX_CELLS``.
    """
    budget = [MAX_UNZIPPED_BYTES]
    extents: dict[str, _Extent] = {}
    shared_strings = 0
    for info in zf.infolist():
        if info.is_dir():
            continue
        pieces = _inflate(data, info, budget)
        first = next(pieces, b"")
        if b"sheetData" in first:
            extents[info.filename] = _sheet_extent(_tag_aligned(itertools.chain([first], pieces)))
        elif b"<sst" in first or b":sst" in first:
            shared_strings += first.count(b"si>") // 2 + sum(p.count(b"si>") // 2 for p in pieces)
            if shared_strings > MAX_CELLS:
                raise ImportFileError(_("文件里的文字条目太多，请删去无关的工作表和内容，或分几次导入"))
        else:
            for _piece in pieces:
                pass
    return extents


_REFERENCE = r'(?:c|row) r="([A-Z]*)(\d+)"'


def _greater(value: str, alphabet: str, digit: str) -> str:
    """A regex for the strings of ``alphabet`` that sort after ``value`` as numbers or column letters do."""
    options = [f"{digit}{{{len(value) + 1},}}"]
    for i, ch in enumerate(value):
        higher = alphabet[alphabet.index(ch) + 1 :]
        if higher:
            rest = len(value) - i - 1
            options.append(
                re.escape(value[:i]) + f"[{higher[0]}-{higher[-1]}]" + (f"{digit}{{{rest}}}" if rest else "")
            )
    return "|".join(options)


def _beyond(rows: int, columns: int) -> re.Pattern[bytes]:
    """Finds (or over-finds: any ``r="..."``) a reference right of ``columns`` or below ``rows``."""
    letters = _greater(_column_letters(columns), "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "[A-Z]") if columns else "[A-Z]+"
    numbers = _greater(str(rows), "0123456789", r"\d") if rows else r"\d+"
    return re.compile(f'r="(?:(?:{letters})\\d|[A-Z]*(?:{numbers})")'.encode())


def _sheet_extent(pieces: Iterator[bytes]) -> _Extent:
    """Rows and columns of the used range, from every cell and row reference.

    Excel writes rows in order, so the last reference of a piece is its lowest; one regex search
    per piece (a fraction of the read itself) then looks for a reference beyond the extent so far,
    and only a piece where one turns up (a stray cell, a row out of order) is examined in full.
    Rows and cells without a reference (python-calamine would place them one after another,
    unbounded by anything here) are refused: every spreadsheet program writes them.
    """
    extent = _Extent()
    exact = without_reference = last = None
    for piece in pieces:
        if exact is None:
            prefix = re.search(rb"<(\w+:)?sheetData", piece)
            ns = re.escape(prefix.group(1)) if prefix and prefix.group(1) else b""
            exact = re.compile(b"<" + ns + _REFERENCE.encode())
            without_reference = re.compile(b"<" + ns + rb'(?:row|c)(?! r=")[\s/>]')
            last = re.compile(rb'r="[A-Z]*(\d+)"')
            beyond = None
        if without_reference.search(piece):
            raise ImportFileError(_("文件中有单元格没有记录位置，请用 Excel 或 WPS 打开后“另存为” .xlsx 再导入"))
        tail = last.match(piece, max(piece.rfind(b'r="'), 0))
        if tail and int(tail.group(1)) > extent.rows and beyond is not None:
            extent.rows = int(tail.group(1))
            beyond = _beyond(extent.rows, extent.columns)
        if beyond is None or beyond.search(piece):
            for letters, number in exact.findall(piece):
                extent.rows = max(extent.rows, int(number))
                if letters:
                    extent.columns = max(extent.columns, _column_number(letters))
            beyond = _beyond(extent.rows, extent.columns)
    return extent


def _column_letters(n: int) -> str:
    letters = ""
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _cells(extent: _Extent) -> int:
    return extent.rows * max(extent.columns, 1)


def _check_extent(extent: _Extent, max_rows: int | None) -> None:
    """Refuse a sheet whose used range python-calamine could not hold, or that the importer does not take."""
    if extent.columns > MAX_COLUMNS:
        raise ImportFileError(
            _("表格在第 %(col)d 列还有内容，列数太多；请删除数据右侧多余的列（包括空格）后再导入")
            % {"col": extent.columns}
        )
    if max_rows is not None and extent.rows > max_rows + HEADER_SCAN_ROWS:
        raise ImportFileError(
            _("表格一直用到第 %(row)d 行，这里一次最多导入 %(max)d 行；请删除数据下方多余的行，或分几次导入")
            % {"row": extent.rows, "max": max_rows}
        )
    if _cells(extent) > MAX_CELLS:
        raise ImportFileError(
            _("表格一直用到第 %(row)d 行，太大了；请删除数据下方多余的行，或分几次导入") % {"row": extent.rows}
        )


def _sheet_paths(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> the zip part holding it (workbook.xml's r:id resolved through its rels)."""
    try:
        workbook = zf.read("xl/workbook.xml").decode("utf-8", "replace")
        rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
    except KeyError:
        return {}
    targets = {}
    for m in re.finditer(r"<(?:\w+:)?Relationship\b[^>]*>", rels):
        rel_id, target = re.search(r'\bId="([^"]+)"', m.group(0)), re.search(r'\bTarget="([^"]+)"', m.group(0))
        if rel_id and target:
            t = html.unescape(target.group(1))
            targets[rel_id.group(1)] = t.lstrip("/") if t.startswith("/") else posixpath.normpath(f"xl/{t}")
    paths = {}
    for m in re.finditer(r"<(?:\w+:)?sheet\b[^>]*>", workbook):
        name, rel_id = re.search(r'\bname="([^"]*)"', m.group(0)), re.search(r'\b\w+:id="([^"]+)"', m.group(0))
        if name and rel_id and rel_id.group(1) in targets:
            paths[html.unescape(name.group(1))] = targets[rel_id.group(1)]
    return paths


def _column_number(letters: bytes | str) -> int:
    n = 0
    for ch in letters.encode() if isinstance(letters, str) else letters:
        n = n * 26 + ch - 64
    return n


def _find_header(rows: list[list[Any]], columns: Sequence[Column]) -> tuple[int, dict[str, int], set[str]]:
    """(row index, key -> column index, keys missing) of the best header candidate."""
    wanted = [(c, c.names()) for c in columns]
    best: tuple[int, int, dict[str, int]] = (-1, -1, {})
    for r, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        found: dict[str, int] = {}
        for ci, cell in enumerate(row):
            if is_blank(cell):
                continue
            name = normalize_header(cell)
            for col, names in wanted:
                if col.key not in found and name in names:
                    found[col.key] = ci
                    break
        score = sum(1 for c in columns if c.required and c.key in found) * 1000 + len(found)
        if score > best[0]:
            best = (score, r, found)
        if all(c.key in found for c in columns if c.required):
            return r, found, set()
    _score, r, found = best
    return r, found, {c.key for c in columns if c.required and c.key not in found}


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Hundreds of thousands of new lists and strings and no cycles: the collector would only rescan them."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def read_table(file: Any, columns: Sequence[Column], *, max_rows: int | None = None) -> Table:
    """Read the first worksheet that has the header; clean and parse every cell.

    ``file``: a path, bytes, or a file object (Django UploadedFile included).
    ``max_rows``: the most data rows this import takes (a quota table has a few dozen); a sheet
    that runs further is refused before it is read.
    Raises ImportFileError for a file that cannot be imported at all; cell
    problems are collected in ``Table.errors`` (nothing raised).
    """
    import python_calamine

    data = _file_bytes(file)
    zf = _open_zip(data)
    extents = _survey(data, zf)
    sheet_paths = _sheet_paths(zf)
    try:
        workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        metas = [
            m
            for m in workbook.sheets_metadata
            if m.typ == python_calamine.SheetTypeEnum.WorkSheet
            and m.visible == python_calamine.SheetVisibleEnum.Visible
        ]
    except Exception:
        raise ImportFileError(_NOT_XLSX) from None
    if not metas:
        raise ImportFileError(_("文件里没有工作表，请把花名册填在第一个工作表中"))
    best_missing: set[str] | None = None
    for meta in metas:
        path = sheet_paths.get(meta.name)
        # A sheet whose part could not be told from the workbook is as big as the biggest one.
        extent = extents.get(path) if path in extents else max(extents.values(), key=_cells, default=_Extent())
        _check_extent(extent, max_rows)
        try:
            with _gc_paused():
                raw = workbook.get_sheet_by_name(meta.name).to_python(skip_empty_area=False)  # the sheet goes at once
        except Exception:
            raise ImportFileError(_NOT_XLSX) from None
        header_index, positions, missing = _find_header(raw, columns)
        if header_index < 0:
            continue
        if missing:
            if best_missing is None or len(missing) < len(best_missing):
                best_missing = missing
            continue
        with _gc_paused():
            exact = _ExactNumbers(data, zf.NameToInfo.get(path) if path else None)
            return _build_table(meta.name, raw, header_index, positions, columns, exact)
    if best_missing is None:
        raise ImportFileError(_("文件里没有任何内容，请在第一个工作表中填写表头和数据"))
    names = "、".join(c.header for c in columns if c.key in best_missing)
    raise ImportFileError(
        _("没有找到表头：缺少“%(names)s”列。请使用下载的模板，表头要在前 %(n)d 行中")
        % {"names": names, "n": HEADER_SCAN_ROWS}
    )


class _ExactNumbers:
    """Integers of 16+ digits exactly as the file stores them, keyed by (row, column), both 1-based.

    python-calamine reads every number as a float, so an ID number written as a
    number by a program (not by Excel, which keeps only 15 digits) would look
    as if it had lost digits. The sheet XML is scanned for such cells only when
    a float of 1e15 or more turns up.
    """

    _CELL = re.compile(rb'<(?:\w+:)?c r="([A-Z]+)(\d+)"(?: (?!t="s")[^>]*)?><(?:\w+:)?v>(-?\d{16,})</')

    def __init__(self, data: bytes, info: zipfile.ZipInfo | None):
        self.data, self.info = data, info
        self.found: dict[tuple[int, int], int] | None = None

    def get(self, row: int, column: int) -> int | None:
        if self.found is None:
            self.found = {}
            if self.info is not None:
                # Piece by piece, tags whole: the sheet is never held in memory as one string.
                for piece in _tag_aligned(_inflate(self.data, self.info, [MAX_UNZIPPED_BYTES])):
                    for letters, r, value in self._CELL.findall(piece):
                        self.found[int(r), _column_number(letters)] = int(value)
        return self.found.get((row, column))


def _build_table(
    sheet_name: str,
    raw: list[list[Any]],
    header_index: int,
    positions: dict[str, int],
    columns: Sequence[Column],
    exact: _ExactNumbers | None = None,
) -> Table:
    keys = [c.key for c in columns if c.key in positions]
    body = raw[header_index + 1 :]
    # Column by column from here on, with map/zip doing the looping in C.
    width = min(map(len, body), default=0)
    picked = [
        list(map(operator.itemgetter(positions[k]), body)) if positions[k] < width else [""] * len(body) for k in keys
    ]
    del body
    raw.clear()  # the rows are not needed any more; their cells live on in ``picked``
    keep = list(map(any, zip(*picked, strict=True)))
    for i in [i for i, k in enumerate(keep) if not k]:
        keep[i] = not all(is_blank(col[i]) for col in picked)  # a 0 is a value, not a blank
    first = header_index + 2  # Excel number of the first body row
    if all(keep):
        rows = list(range(first, first + len(keep)))
    else:
        rows = [first + i for i, k in enumerate(keep) if k]
        picked = [list(itertools.compress(col, keep)) for col in picked]
    if not rows:
        raise ImportFileError(_("表头下面没有数据行，请填写后再导入"))
    table = Table(
        columns=columns,
        sheet_name=sheet_name,
        header_row=header_index + 1,
        present=frozenset(keys),
        rows=rows,
        values={},
    )
    by_key = {c.key: c for c in columns}
    for key, raw_values in zip(keys, picked, strict=True):
        table.values[key] = _parse_column(table, by_key[key], raw_values, positions[key] + 1, exact)
    return table


_is_nfkc = functools.partial(unicodedata.is_normalized, "NFKC")


class _Problem(str):
    """A cell's error message (or the blank marker) while a column is being parsed."""


_BLANK = _Problem("")


def _parse_column(
    table: Table, column: Column, raw_values: Sequence[Any], column_number: int, exact: _ExactNumbers | None
) -> list[Any]:
    """Clean and parse one column; errors go to ``table``; invalid cells become None."""
    blank_message = _("不能为空，请填写%(header)s") % {"header": column.header}
    distinct = set(raw_values)
    if len(distinct) * 2 < len(raw_values) and not any(v.__class__ is float and abs(v) >= 1e15 for v in distinct):
        # Few distinct values (学段, 状态, 学校代码...): clean and parse each once.
        results = {v: _parse_cell(column, clean_cell(v)) for v in distinct}
        out = list(map(results.__getitem__, raw_values))
        if any(r.__class__ is _Problem for r in results.values()):
            _collect_problems(table, column, out, blank_message)
        return out
    out = [v.strip() if v.__class__ is str and (v.isascii() or _is_nfkc(v)) else clean_cell(v) for v in raw_values]
    if exact is not None:
        for i in [i for i, v in enumerate(out) if v.__class__ is float and abs(v) >= 1e15]:
            out[i] = exact.get(table.rows[i], column_number) or out[i]
    parse = column.parse
    if parse is None:
        parse = str
    if "" not in out:
        try:
            return list(map(parse, out))  # the common case: no blank, no error
        except ValueError:
            pass
    default, required, header = column.default, column.required, column.header
    for i, value in enumerate(out):
        if value == "":
            if required:
                table.add_error(i, header, blank_message)
                out[i] = None
            else:
                out[i] = default
            continue
        try:
            out[i] = parse(value)
        except ValueError as exc:
            table.add_error(i, header, str(exc))
            out[i] = None
    return out


def _parse_cell(column: Column, value: Any) -> Any:
    if value == "":
        return _BLANK if column.required else column.default
    if column.parse is None:
        return value if value.__class__ is str else str(value)
    try:
        return column.parse(value)
    except ValueError as exc:
        return _Problem(str(exc))


def _collect_problems(table: Table, column: Column, out: list[Any], blank_message: str) -> None:
    for i, value in enumerate(out):
        if value.__class__ is _Problem:
            table.add_error(i, column.header, value or blank_message)
            out[i] = None


# --------------------------------------------------------------------------- common parsers


def excerpt(value: Any, limit: int = 40) -> str:
    """A cell's value as an error message quotes it: at most ``limit`` characters."""
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "…"


def text(max_length: int) -> Callable[[Any], str]:
    """A parser for free text of at most ``max_length`` characters (numbers become text).

    Control and format characters (bidi overrides, zero-width spaces) are dropped; line breaks stay.
    """

    def parse(value: Any) -> str:
        value = value if value.__class__ is str else str(value)
        if not value.isascii() or not value.isprintable():
            value = drop_unsafe(value)
        if len(value) > max_length:
            raise ValueError(_("不能超过 %(n)d 个字，现在是 %(len)d 个") % {"n": max_length, "len": len(value)})
        return value

    return parse


def name(max_length: int) -> Callable[[Any], str]:
    """A parser for a name (a person's, a unit's, a course's...): :func:`portal.text.clean_name`, then the length."""

    def parse(value: Any) -> str:
        value = clean_name(value)
        if not value:
            raise ValueError(_("不能为空，也不能只有空格或不可见字符"))
        if len(value) > max_length:
            raise ValueError(_("不能超过 %(n)d 个字，现在是 %(len)d 个") % {"n": max_length, "len": len(value)})
        return value

    return parse


def choice(mapping: dict[str, Any], what: str, shown: Sequence[str] | None = None) -> Callable[[Any], Any]:
    """A parser for a value from a fixed list (matched after NFKC folding, case-insensitive).

    ``shown``: the values the error message lists (default: every key of ``mapping``).
    """
    folded = {normalize_header(k): v for k, v in mapping.items()}
    allowed = "、".join(dict.fromkeys(shown if shown is not None else mapping))

    memo: dict[Any, Any] = {}

    def parse(value: Any) -> Any:
        try:
            return memo[value]
        except KeyError:
            pass
        try:
            memo[value] = found = folded[normalize_header(value)]
        except KeyError:
            raise ValueError(
                _("“%(value)s”不是有效的%(what)s，请填写：%(allowed)s")
                % {"value": excerpt(value), "what": what, "allowed": allowed}
            ) from None
        return found

    return parse


_CHECK_CHARS = "10X98765432"


@functools.cache
def _birth_dates() -> frozenset[str]:
    """Every "YYYYMMDD" from 1900 to the end of last year (a later date takes the full check against today)."""
    day, end, one = dt.date(1900, 1, 1), dt.date(dt.date.today().year, 1, 1), dt.timedelta(days=1)
    found = []
    while day < end:
        found.append(f"{day:%Y%m%d}")
        day += one
    return frozenset(found)


def id_number(value: Any) -> str:
    """A parser for resident ID numbers: the canonical 18 characters (lower-case x upper-cased).

    The common case (18 ASCII characters, right check digit, real birth date) is
    checked here in a few hundred nanoseconds; anything else goes through
    :func:`portal.idcard.check`, whose message says what to fix (including a
    number that Excel stored as a float and so lost its last digits).
    The weights of GB 11643 are 2**(17-i) mod 11 and 13 = 2 (mod 11), so the
    weighted sum is 2 * int(first17, 13) (mod 11).
    """
    if value.__class__ is str and len(value) == 18 and value.isascii():
        head = value[:17]
        if head.isdigit():
            last = value[17]
            if last == "x":
                last = "X"
                value = head + "X"
            if last == _CHECK_CHARS[2 * int(head, 13) % 11] and value[6:14] in _birth_dates():
                return value
    from portal import idcard

    try:
        return idcard.check(value).number
    except idcard.IdNumberError as exc:
        raise ValueError(str(exc)) from None


def mobile(value: Any) -> str:
    """A parser for mainland mobile numbers (11 digits starting 13-19); see portal.validators.check_mobile."""
    if value.__class__ is str and len(value) == 11 and value.isdigit() and value.isascii():
        if value[0] == "1" and value[1] in "3456789":
            return value
    elif value.__class__ is int and 13_000_000_000 <= value < 20_000_000_000:
        return str(value)
    from portal.validators import check_mobile

    return check_mobile(value)


# --------------------------------------------------------------------------- error report


ERROR_HEADERS = ("行号", "列名", "问题说明")


def errors_workbook(errors: Sequence[RowError], *, title: str | None = None) -> bytes:
    """An .xlsx of the errors (行号, 列名, 问题说明) for the user to download and fix."""
    from portal.exporting import write_xlsx

    out = io.BytesIO()
    write_xlsx(
        out,
        title=title or _("导入错误（共 %(n)d 处，全部改正后重新导入）") % {"n": len(errors)},
        headers=[_(h) for h in ERROR_HEADERS],
        rows=((e.row, e.column, e.message) for e in errors),
    )
    return out.getvalue()
