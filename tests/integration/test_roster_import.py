import datetime as dt
import io
import zipfile

import openpyxl
import pytest

from portal import idcard
from portal.importing import ImportFileError
from portal.models import Gender, Position, RosterConflict, Teacher, TeacherMove, TeacherStatus
from portal.roster_export import EXPORT_HEADERS, roster_export
from portal.roster_import import roster_import, roster_template
from tests.factories.portal import SchoolFactory, TeacherFactory, id_number

HEADERS = ["姓名", "身份证号", "学段", "任教学科", "手机号码", "状态"]


def xlsx(rows, *, title_rows=(), headers=HEADERS) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in title_rows:
        ws.append(row)
    ws.append(headers)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _replace_in_sheet(content: bytes, old: bytes, new: bytes) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                assert old in data
                data = data.replace(old, new)
            dst.writestr(info, data)
    return out.getvalue()


def row(name, number, stage="初中", subject="数学", mobile="13800138000", status=""):
    return [name, number, stage, subject, mobile, status]


def test_roster_import_creates_teachers_with_derived_gender_and_birth(tree):
    number = idcard.make("440106", dt.date(1985, 6, 15), 123)
    result = roster_import(xlsx([row("张三", number)]), unit=tree.school_a)
    teacher = Teacher.objects.get(id_number=number)
    assert (result.summary, result.written) == ("created 1, updated 0, unchanged 0", True)
    assert (teacher.unit, teacher.gender, teacher.birth_date, teacher.stage.name, teacher.status) == (
        tree.school_a,
        Gender.MALE,
        dt.date(1985, 6, 15),
        "初中",
        TeacherStatus.ACTIVE,
    )


def test_roster_import_same_file_twice_changes_nothing(tree):
    file = xlsx([row("张三", id_number()), row("李四", id_number(), stage="小学", status="退休")])
    roster_import(file, unit=tree.school_a)
    before = list(Teacher.objects.filter(unit=tree.school_a).values_list("id", "updated_at"))

    result = roster_import(file, unit=tree.school_a)

    assert result.summary == "created 0, updated 0, unchanged 2"
    assert list(Teacher.objects.filter(unit=tree.school_a).values_list("id", "updated_at")) == before


def test_roster_import_edited_file_updates_by_id_number(tree):
    existing = TeacherFactory(unit=tree.school_a, name="王五", subject="数学", mobile="13800138000")
    file = xlsx([row("王五", existing.id_number, subject="物理", status="退休")])

    result = roster_import(file, unit=tree.school_a, actor=tree.alice)

    existing.refresh_from_db()
    assert result.summary == "created 0, updated 1, unchanged 0"
    assert (existing.subject, existing.status, existing.status_date is not None) == ("物理", "retired", True)
    assert list(TeacherMove.objects.filter(teacher=existing).values_list("status", "recorded_by")) == [
        ("retired", tree.alice.pk)
    ]


def test_roster_import_id_at_a_school_of_the_same_district_names_it(tree):
    other = tree.teacher_b.teacher
    result = roster_import(
        xlsx([row("新人", id_number()), row("乙", other.id_number)]), unit=tree.school_a, actor=tree.alice
    )

    assert [str(e) for e in result.errors] == ["第 3 行 身份证号：已在B校的花名册中：请联系区级管理员办理调动"]
    assert Teacher.objects.filter(unit=tree.school_a).count() == 1  # teacher_a only: nothing written


def test_roster_import_id_in_another_district_names_no_unit_and_is_kept_for_the_district(tree):
    other = tree.teacher_c.teacher
    file = xlsx([row("丙", other.id_number)])

    for _attempt in range(2):  # the preview, then the same file again
        result = roster_import(file, unit=tree.school_a, actor=tree.alice, dry_run=True)

    assert [str(e) for e in result.errors] == ["第 2 行 身份证号：已在其他单位的花名册中：请联系区级管理员办理调动"]
    assert "C校" not in str(result.errors[0])
    assert list(RosterConflict.objects.values_list("teacher", "unit", "district", "source", "attempts")) == [
        (other.pk, tree.school_a.pk, tree.district1.pk, "import", 2)
    ]


def test_roster_import_by_district_admin_names_her_own_schools_and_keeps_no_refusal(tree):
    other = tree.teacher_b.teacher
    file = xlsx([[tree.school_a.code, *row("乙", other.id_number)]], headers=["学校代码", *HEADERS])

    result = roster_import(file, unit=tree.district1, actor=tree.carol)

    assert [str(e) for e in result.errors] == ["第 2 行 身份证号：已在 B校 的花名册中，调动请使用“调动”功能"]
    assert RosterConflict.objects.count() == 0


def test_roster_import_by_district_admin_of_a_teacher_elsewhere_asks_the_city(tree):
    result = roster_import(
        xlsx([[tree.school_a.code, *row("丙", tree.teacher_c.teacher.id_number)]], headers=["学校代码", *HEADERS]),
        unit=tree.district1,
        actor=tree.carol,
    )

    assert [str(e) for e in result.errors] == ["第 2 行 身份证号：已在其他单位的花名册中：请联系市级管理员办理调动"]


def test_roster_import_of_a_city_direct_school_names_only_other_city_direct_units(tree):
    direct = SchoolFactory(name="市直中学", parent=tree.city)
    sibling = TeacherFactory(unit=SchoolFactory(name="市直小学", parent=tree.city))
    file = xlsx([row("甲", sibling.id_number), row("乙", tree.teacher_a.teacher.id_number)])

    result = roster_import(file, unit=direct)

    assert [str(e) for e in result.errors] == [
        "第 2 行 身份证号：已在市直小学的花名册中：请联系市级管理员办理调动",
        "第 3 行 身份证号：已在其他单位的花名册中：请联系市级管理员办理调动",
    ]
    assert set(RosterConflict.objects.values_list("district", flat=True)) == {tree.city.pk}


def test_roster_import_one_bad_row_writes_nothing_and_reports_every_error(tree):
    good = [row(f"教师{i}", id_number()) for i in range(3)]
    file = xlsx([*good, row("坏", "110105194912310021", mobile="12345"), row("", id_number(), stage="大学")])

    result = roster_import(file, unit=tree.school_a)

    assert [str(e) for e in result.errors] == [
        "第 5 行 身份证号：身份证号校验位错误（最后一位应为 X），请核对号码是否抄错",
        "第 5 行 手机号码：手机号码应为 1 开头的 11 位数字，现在是“12345”",
        "第 6 行 姓名：不能为空，请填写姓名",
        "第 6 行 学段：“大学”不是有效的学段，请填写：幼儿园、小学、初中、高中、中职、特殊教育",
    ]
    assert (result.written, result.created) == (False, 0)
    assert Teacher.objects.filter(unit=tree.school_a).count() == 1


def test_roster_import_duplicate_id_in_file_names_both_rows(tree):
    number = id_number()
    result = roster_import(xlsx([row("甲", number), row("乙", id_number()), row("甲", number)]), unit=tree.school_a)
    assert [str(e) for e in result.errors] == [
        "第 2 行 身份证号：与第 4 行重复，同一人只能出现一次",
        "第 4 行 身份证号：与第 2 行重复，同一人只能出现一次",
    ]


def test_roster_import_messy_file_is_understood(tree):
    number = idcard.make("440106", dt.date(1990, 1, 1), 2)  # ends in a check digit we lower-case below
    number_x = next(
        idcard.make("440106", dt.date(1991, 1, 1), s)
        for s in range(1000)
        if idcard.make("440106", dt.date(1991, 1, 1), s).endswith("X")
    )
    fullwidth = number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["B1"] = "天河区A校 2026 年教师花名册"
    ws["B2"] = "填表人：某某"
    ws.append([])
    ws.append([None, "* 姓 名", "身份证号（必填）", " 学段 ", "任教学科", "手机号码", "状态", None, "备注"])
    ws.append([None, " 张　三 ", fullwidth, "初中", "语文", 13800138000, "在职"])
    ws.append([])
    ws.append([None, "李四", number_x.lower(), "小学 ", "数学", " 139 0013 8000 ", ""])
    wang = idcard.make("440106", dt.date(1992, 3, 3), 4)
    ws.append([None, "王五", float(wang), "高中", None, None, None])
    out = io.BytesIO()
    wb.save(out)
    # openpyxl writes the number as a float; some tools write all 18 digits, which must be accepted.
    file = _replace_in_sheet(out.getvalue(), repr(float(wang)).encode(), wang.encode())

    result = roster_import(file, unit=tree.school_a)

    assert result.errors == []
    assert result.created == 3
    zhang = Teacher.objects.get(id_number=number)
    assert (zhang.name, zhang.mobile, zhang.subject) == ("张三", "13800138000", "语文")
    assert Teacher.objects.get(id_number=number_x).mobile == "13900138000"
    assert Teacher.objects.get(id_number=wang).stage.name == "高中"


def test_roster_import_id_stored_as_float_reports_lost_digits(tree):
    file = xlsx([row("张三", 4.40106198506151e17)])
    result = roster_import(file, unit=tree.school_a)
    assert len(result.errors) == 1
    assert result.errors[0].row == 2 and result.errors[0].column == "身份证号"
    assert "后几位已丢失" in result.errors[0].message


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"name,id\n", "不是 Excel 的 .xlsx 格式"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "不是 Excel 的 .xlsx 格式"),
        (b"", "文件是空的"),
    ],
)
def test_roster_import_bad_file_is_refused(tree, content, message):
    with pytest.raises(ImportFileError, match=message):
        roster_import(content, unit=tree.school_a)
    assert Teacher.objects.count() == 3


def test_roster_import_empty_workbook_is_refused(tree):
    out = io.BytesIO()
    openpyxl.Workbook().save(out)
    with pytest.raises(ImportFileError, match="没有任何内容"):
        roster_import(out.getvalue(), unit=tree.school_a)


def test_roster_import_missing_header_lists_missing_columns(tree):
    file = xlsx([["张三", "初中"]], headers=["姓名", "学段"])
    with pytest.raises(ImportFileError, match="缺少“身份证号”列"):
        roster_import(file, unit=tree.school_a)


def test_roster_import_header_without_rows_is_refused(tree):
    with pytest.raises(ImportFileError, match="没有数据行"):
        roster_import(xlsx([]), unit=tree.school_a)


def test_roster_import_file_over_limit_is_refused_before_parsing(tree, settings, tmp_path):
    settings.IMPORT_MAX_BYTES = 1000
    path = tmp_path / "big.xlsx"
    path.write_bytes(b"not even a zip" * 100)  # would be "not an xlsx" if it were parsed
    with pytest.raises(ImportFileError, match="文件太大（超过 0 MB）"):
        roster_import(path, unit=tree.school_a)


def test_roster_import_stray_far_cell_is_refused_without_exhausting_memory(tree):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADERS)
    ws.append(row("张三", id_number()))
    ws["XFD50000"] = "x"
    out = io.BytesIO()
    wb.save(out)
    with pytest.raises(ImportFileError, match="第 16384 列还有内容"):
        roster_import(out.getvalue(), unit=tree.school_a)


def test_roster_import_dry_run_writes_nothing_and_previews(tree):
    existing = tree.teacher_a.teacher
    file = xlsx([row("新人", id_number()), row(existing.name, existing.id_number, subject="化学")])

    result = roster_import(file, unit=tree.school_a, dry_run=True)

    assert result.summary == "created 1, updated 1, unchanged 0"
    assert [(p.row, p.action, p.changed) for p in result.preview] == [(2, "create", ()), (3, "update", ("任教学科",))]
    assert (result.written, Teacher.objects.count()) == (False, 3)


def test_roster_import_district_rows_name_their_school(tree):
    file = xlsx(
        [
            [tree.school_a.code, "甲", id_number(), "初中", "", "", ""],
            [tree.school_b.code.lower(), "乙", id_number(), "小学", "", "", ""],
        ],
        headers=["学校代码", *HEADERS],
    )
    result = roster_import(file, unit=tree.district1)
    assert result.summary == "created 2, updated 0, unchanged 0"
    assert Teacher.objects.filter(unit=tree.school_b, name="乙").count() == 1


def test_roster_import_district_school_outside_district_is_an_error(tree):
    file = xlsx(
        [[tree.school_c.code, "丙", id_number(), "初中", "", "", ""], ["NOPE", "丁", id_number(), "初中", "", "", ""]],
        headers=["学校代码", *HEADERS],
    )
    result = roster_import(file, unit=tree.district1)
    assert [str(e) for e in result.errors] == [
        f"第 2 行 学校代码：“{tree.school_c.code}”不属于天河区，只能导入本单位范围内的学校",
        "第 3 行 学校代码：没有代码为“NOPE”的学校，请对照模板中的“学校代码”表填写",
    ]
    assert Teacher.objects.count() == 3


def test_roster_import_position_column_is_optional_and_kept(tree):
    teacher = TeacherFactory(
        unit=tree.school_a, position=Position.PRINCIPAL, name="校长甲", subject="数学", mobile="13800138000"
    )
    result = roster_import(xlsx([row("校长甲", teacher.id_number)]), unit=tree.school_a)
    teacher.refresh_from_db()
    assert (result.summary, teacher.position) == ("created 0, updated 0, unchanged 1", Position.PRINCIPAL)


def test_roster_template_round_trips_through_import(tree):
    template = roster_template(tree.school_a)
    wb = openpyxl.load_workbook(io.BytesIO(template))
    ws = wb["花名册"]
    assert [c.value for c in ws[2]] == ["姓名*", "身份证号*", "学段*", "任教学科", "手机号码", "状态", "职务"]
    ws.append(["赵六", id_number(), "初中", "数学", "13800138000", "在职", "教师"])
    out = io.BytesIO()
    wb.save(out)
    assert roster_import(out.getvalue(), unit=tree.school_a).summary == "created 1, updated 0, unchanged 0"


def test_roster_export_whole_subtree_with_masked_id_numbers(tree, tmp_path):
    path = tmp_path / "out.xlsx"
    teachers = Teacher.objects.filter(unit__path__startswith=tree.district1.path)

    count = roster_export(teachers, path)

    ws = openpyxl.load_workbook(path).active
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert count == 2
    assert rows[0] == EXPORT_HEADERS
    numbers = sorted(r[6] for r in rows[1:])
    assert numbers == sorted([tree.teacher_a.teacher.masked_id_number, tree.teacher_b.teacher.masked_id_number])
    assert rows[1][1] == "天河区"


def test_roster_import_query_count_does_not_grow_with_rows(tree):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_for(n: int) -> int:
        existing = [TeacherFactory(unit=tree.school_a, subject="数学", mobile="13800138000") for _ in range(n)]
        rows = [row(f"新{i}", id_number()) for i in range(n)]
        rows += [row(t.name, t.id_number, subject="物理", status="退休") for t in existing]
        with CaptureQueriesContext(connection) as ctx:
            result = roster_import(xlsx(rows), unit=tree.school_a)
        assert (result.created, result.updated) == (n, n)
        return len(ctx)

    assert queries_for(2) == queries_for(40)


def test_roster_import_text_with_backslash_and_tab_is_stored_exactly(tree):
    number = id_number()
    roster_import(xlsx([row("张三", number, subject="语\\文\t史")]), unit=tree.school_a)
    assert Teacher.objects.get(id_number=number).subject == "语\\文\t史"


def test_roster_template_for_district_lists_its_schools(tree):
    wb = openpyxl.load_workbook(io.BytesIO(roster_template(tree.district1)))
    assert [c.value for c in wb["花名册"][2]][:2] == ["学校代码*", "姓名*"]
    codes = list(wb["学校代码"].iter_rows(min_row=2, values_only=True))
    assert codes == [(tree.school_a.code, "A校"), (tree.school_b.code, "B校")]


def test_roster_import_links_new_teacher_to_existing_login(tree):
    roster_import(xlsx([row("alice", tree.alice.id_number)]), unit=tree.school_a)
    assert Teacher.objects.get(id_number=tree.alice.id_number).user == tree.alice


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_roster_import_parallel_imports_of_same_file_create_each_teacher_once():
    import threading

    from django.db import connection

    from tests.factories.portal import SchoolFactory

    school = SchoolFactory()
    file = xlsx([row(f"教师{i}", id_number()) for i in range(30)])
    barrier = threading.Barrier(4)
    summaries: list[str] = []
    failures: list[BaseException] = []

    def client() -> None:
        try:
            barrier.wait(timeout=30)
            summaries.append(roster_import(file, unit=school).summary)
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=client) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    assert sorted(summaries) == ["created 0, updated 0, unchanged 30"] * 3 + ["created 30, updated 0, unchanged 0"]
    assert Teacher.objects.filter(unit=school).count() == 30


def test_roster_import_reads_chinese_status_and_position_with_english_ui(tree):
    from django.utils import translation

    number = id_number()
    content = xlsx([[*row("李四", number, status="退休"), "副校长"]], headers=[*HEADERS, "职务"])

    with translation.override("en"):
        result = roster_import(content, unit=tree.school_a)

    teacher = Teacher.objects.get(id_number=number)
    assert (result.errors, teacher.status, teacher.position) == ([], TeacherStatus.RETIRED, Position.VICE_PRINCIPAL)
