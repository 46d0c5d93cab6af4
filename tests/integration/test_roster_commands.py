import io

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from portal import idcard
from portal.models import Teacher, Unit, UnitKind
from tests.factories.portal import id_number

HEADERS = ["姓名", "身份证号", "学段", "任教学科", "手机号码", "状态"]


def write_roster(path, rows, headers=HEADERS):
    wb = openpyxl.Workbook()
    wb.active.append(headers)
    for row in rows:
        wb.active.append(row)
    wb.save(path)
    return str(path)


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_roster_command_prints_summary_and_is_idempotent(tree, tmp_path):
    path = write_roster(tmp_path / "r.xlsx", [["甲", id_number(), "初中", "数学", "", ""]])

    first, _ = run("import_roster", path, "--unit", tree.school_a.code)
    second, _ = run("import_roster", path, "--unit", tree.school_a.code)

    assert (first, second) == ("created 1, updated 0, unchanged 0\n", "created 0, updated 0, unchanged 1\n")


def test_import_roster_command_dry_run_writes_nothing(tree, tmp_path):
    path = write_roster(tmp_path / "r.xlsx", [["甲", id_number(), "初中", "数学", "", ""]])
    out, _ = run("import_roster", path, "--unit", tree.school_a.code, "--dry-run")
    assert out == "created 1, updated 0, unchanged 0\ndry run: nothing written\n"
    assert Teacher.objects.count() == 3


def test_import_roster_command_errors_exit_1_with_every_line(tree, tmp_path):
    path = write_roster(
        tmp_path / "r.xlsx",
        [
            ["甲", id_number(), "初中", "", "", ""],
            ["", id_number(), "初中", "", "", ""],
            ["乙", "123", "大学", "", "", ""],
        ],
    )
    err = io.StringIO()
    with pytest.raises(CommandError) as exc_info:
        call_command("import_roster", path, "--unit", tree.school_a.code, stdout=io.StringIO(), stderr=err)

    # run_from_argv turns a CommandError into sys.exit(returncode)
    assert (exc_info.value.returncode, str(exc_info.value)) == (1, "3 处错误，未写入任何数据")
    assert err.getvalue().splitlines() == [
        "第 3 行 姓名：不能为空，请填写姓名",
        "第 4 行 身份证号：身份证号应为 18 位，现在是 3 位，请核对",
        "第 4 行 学段：“大学”不是有效的学段，请填写：幼儿园、小学、初中、高中、中职、特殊教育",
    ]
    assert Teacher.objects.count() == 3


def test_import_roster_command_bad_file_and_unknown_unit(tree, tmp_path):
    path = tmp_path / "r.xlsx"
    path.write_text("姓名,身份证号\n")
    with pytest.raises(CommandError, match=r"不是 Excel 的 \.xlsx 格式"):
        run("import_roster", str(path), "--unit", tree.school_a.code)
    with pytest.raises(CommandError, match="没有代码为 NOPE 的单位"):
        run("import_roster", str(path), "--unit", "NOPE")


@pytest.mark.parametrize("whole", [False, True])
def test_export_roster_command_exports_whole_subtree(tree, tmp_path, whole):
    path = tmp_path / "out.xlsx"
    out, _ = run("export_roster", "--unit", tree.district1.code, "--out", str(path), *(["--whole-id-numbers"] * whole))
    rows = list(openpyxl.load_workbook(path).active.iter_rows(min_row=3, values_only=True))
    assert out == f"exported 2 teachers to {path}\n"
    numbers = [tree.teacher_a.id_number, tree.teacher_b.id_number]
    assert sorted(r[6] for r in rows) == sorted(numbers if whole else map(idcard.mask, numbers))


def test_seed_scale_makes_city_of_valid_unique_teachers(db):
    out, _ = run("seed_scale", "--teachers", "250", "--city-code", "990200", "--per-school", "80")

    city = Unit.objects.get(code="990200")
    teachers = list(Teacher.objects.filter(unit__path__startswith=city.path))
    assert out.startswith("city 990200: 1 districts, 4 schools, 250 teachers")
    assert Unit.objects.filter(path__startswith=city.path, kind=UnitKind.SCHOOL).count() == 4
    assert len(teachers) == len({t.id_number for t in teachers}) == 250
    for t in teachers:
        parsed = idcard.check(t.id_number)
        assert (parsed.gender, parsed.birth_date) == (t.gender, t.birth_date)


def test_seed_scale_refuses_existing_city(db):
    run("seed_scale", "--teachers", "0", "--city-code", "990300")
    with pytest.raises(CommandError, match="already exists"):
        run("seed_scale", "--teachers", "10", "--city-code", "990300")
