import datetime as dt
import io
import random

import openpyxl
import pytest

from portal import idcard, importing
from portal.exporting import write_xlsx, xlsx_response
from portal.importing import Column, ImportFileError, ImportResult, RowError, errors_workbook, read_table


def workbook_bytes(rows) -> bytes:
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


COLUMNS = [
    Column("name", "姓名"),
    Column("id_number", "身份证号", parse=importing.id_number),
    Column("hours", "学时", parse=int),
    Column("note", "备注", required=False, default="-"),
]


def test_row_error_str_names_row_and_column():
    assert str(RowError(7, "身份证号", "校验位错误")) == "第 7 行 身份证号：校验位错误"


def test_import_result_summaries():
    result = ImportResult(created=3, updated=2, unchanged=1)
    assert (result.summary, result.summary_zh) == (
        "created 3, updated 2, unchanged 1",
        "新增 3 条，更新 2 条，未变 1 条",
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("* 身份证号（必填）", "身份证号"), (" 姓　名 ", "姓名"), ("ＩＤ(选填)", "id"), ("学时：", "学时")],
)
def test_normalize_header_ignores_marks_spaces_and_width(raw, expected):
    assert importing.normalize_header(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(" 张三 ", "张三"), ("１２３", "123"), ("\u3000李四\u200b", "李四"), (13800138000.0, 13800138000), (None, "")],
)
def test_clean_cell_folds_width_spaces_and_whole_floats(raw, expected):
    assert importing.clean_cell(raw) == expected


def test_clean_cell_keeps_big_float_so_lost_digits_are_reported():
    assert importing.clean_cell(4.40106198506151e17) == 4.40106198506151e17


def test_id_number_fast_path_agrees_with_idcard_check():
    rng = random.Random(7)
    for _ in range(3000):
        birth = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(25000))
        number = idcard.make("440106", birth, rng.randrange(1000))
        assert importing.id_number(number) == number
        assert importing.id_number(number.lower()) == number
        wrong = number[:17] + next(c for c in "0123456789X" if c != number[17])
        with pytest.raises(ValueError, match="校验位错误"):
            importing.id_number(wrong)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("110105490123002", "15 位的旧身份证号"),
        (4.40106198506151e17, "后几位已丢失"),
        ("11010519491231002", "应为 18 位，现在是 17 位"),
    ],
)
def test_id_number_errors_say_what_to_fix(raw, message):
    with pytest.raises(ValueError, match=message):
        importing.id_number(raw)


def test_mobile_parser_accepts_numbers_and_rejects_short():
    assert importing.mobile(13800138000) == "13800138000"
    assert importing.mobile("138 0013 8000") == "13800138000"
    with pytest.raises(ValueError, match="11 位数字"):
        importing.mobile("1380013800")


def test_read_table_finds_header_below_title_rows_and_skips_blank_rows():
    number = idcard.make("440106", dt.date(1980, 1, 1), 5)
    file = workbook_bytes([["标题"], [], ["", "姓名*", "身份证号", "学时"], [], ["", "甲", number, 3], [None]])

    table = read_table(file, COLUMNS)

    assert (table.header_row, table.rows, table.present) == (3, [5], frozenset({"name", "id_number", "hours"}))
    assert [dict(r) for r in table.records()] == [{"name": "甲", "id_number": number, "hours": 3}]


def test_read_table_collects_cell_errors_with_excel_row_numbers():
    number = idcard.make("440106", dt.date(1980, 1, 1), 5)
    file = workbook_bytes([["姓名", "身份证号", "学时", "备注"], ["", number, "x", None], ["乙", number, 2, "好"]])

    table = read_table(file, COLUMNS)
    table.check_unique("id_number", "与第 %(row)d 行重复，同一人只能出现一次")
    table.sort_errors()

    assert [str(e) for e in table.errors] == [
        "第 2 行 姓名：不能为空，请填写姓名",
        "第 2 行 身份证号：与第 3 行重复，同一人只能出现一次",
        "第 2 行 学时：invalid literal for int() with base 10: 'x'",
        "第 3 行 身份证号：与第 2 行重复，同一人只能出现一次",
    ]
    assert table.values["note"] == ["-", "好"]


def test_read_table_missing_header_names_missing_columns():
    with pytest.raises(ImportFileError, match="缺少“身份证号、学时”列"):
        read_table(workbook_bytes([["姓名", "备注"], ["甲", ""]]), COLUMNS)


def test_read_table_refuses_old_xls():
    with pytest.raises(ImportFileError, match=r"旧版 Excel（\.xls）"):
        read_table(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, COLUMNS)


def test_errors_workbook_lists_row_column_message():
    content = errors_workbook([RowError(3, "姓名", "不能为空")])
    rows = list(openpyxl.load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))
    assert rows[1:] == [("行号", "列名", "问题说明"), (3, "姓名", "不能为空")]


def test_write_xlsx_keeps_id_numbers_as_text():
    out = io.BytesIO()
    number = "11010519491231002X"
    count = write_xlsx(
        out, title="标题", headers=["姓名", "身份证号", "日期"], rows=[("甲", number, dt.date(2026, 3, 1))]
    )
    ws = openpyxl.load_workbook(out).active
    assert count == 1
    assert [c.value for c in ws[1]][:1] == ["标题"]
    assert ws["B3"].value == number and ws["B3"].data_type == "s" and ws["B3"].number_format == "@"
    assert ws["C3"].value == dt.datetime(2026, 3, 1)


def test_xlsx_response_has_chinese_filename():
    response = xlsx_response("花名册", title="t", headers=["a"], rows=[])
    assert response["Content-Disposition"] == ("attachment; filename*=utf-8''%E8%8A%B1%E5%90%8D%E5%86%8C.xlsx")


def test_read_table_uses_first_sheet_that_has_the_header():
    wb = openpyxl.Workbook()
    wb.active.title = "说明"
    wb.active.append(["请在第二个工作表填写"])
    data = wb.create_sheet("数据")
    data.append(["姓名", "身份证号", "学时"])
    data.append(["甲", idcard.make("440106", dt.date(1980, 1, 1), 5), 2])
    out = io.BytesIO()
    wb.save(out)

    table = read_table(out.getvalue(), COLUMNS)

    assert (table.sheet_name, table.rows) == ("数据", [2])


def test_read_table_refuses_oversized_upload_before_reading(settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.IMPORT_MAX_BYTES = 2 * 1024 * 1024
    upload = SimpleUploadedFile("big.xlsx", b"PK" + b"\0" * (2 * 1024 * 1024))
    with pytest.raises(ImportFileError, match="文件太大（超过 2 MB）"):
        read_table(upload, COLUMNS)
    assert upload.tell() == 0  # refused on its declared size, nothing read
