"""Unusable and hostile files (tests/hostile_files.py: generated here, 18 kinds) uploaded to every
importer's page by the role that may use it: a clear message, nothing written, never a 500; and
read in a process of their own, the reader's memory stays within its budget."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from courses.importing import COLUMNS as COURSE_COLUMNS
from courses.models import Course, ProviderStaff
from courses.results_import import COLUMNS as RESULT_COLUMNS
from credits.models import CreditEntry
from enrollment.models import Quota
from portal.importing import READER_BUDGET_MB
from portal.models import Teacher, User
from tests import hostile_files
from tests.factories.courses import CourseFactory, PeriodFactory, ProviderFactory
from tests.factories.enrollment import programme_with_chain

pytestmark = pytest.mark.django_db
ROSTER_HEADERS = ["姓名", "身份证号", "学段", "任教学科", "手机号码", "状态", "职务"]
IMPORTERS = {
    "roster": ROSTER_HEADERS,
    "courses": [c.header for c in COURSE_COLUMNS],
    "quota": ["区", "名额"],
    "results": [c.header for c in RESULT_COLUMNS],
}
# What the page says for each kind (a part of the message), whichever importer it is.
EXPECTED = {
    "empty": "文件是空的",
    "not_a_workbook": "不是 Excel 的 .xlsx 格式",
    "old_xls": "旧版 Excel（.xls）",
    "zip_without_workbook": "不是 Excel 的 .xlsx 格式",
    "truncated": "不是 Excel 的 .xlsx 格式",
    "corrupt_sheet": "文件已损坏",
    "zip_bomb": "解压后过大",
    "understated_sizes": "文件已损坏",
    "shared_strings_bomb": "解压后过大",
    "entity_expansion": "不是 Excel 的 .xlsx 格式",
    "stray_cell": "第 16384 列还有内容",
    "million_rows": "一直用到第 1000001 行",
    "huge_cell": "第 2 行",  # a cell error naming the row, whichever column it is
    "wrong_header": "没有找到表头",
    "header_only": "没有数据行",
    "hidden_sheet_only": "没有工作表",
    "malformed_xml": "不是 Excel 的 .xlsx 格式",
    "over_size_limit": "超过上限 20 MB",
}


@pytest.fixture(scope="module")
def corpora(tmp_path_factory) -> dict[str, dict[str, Path]]:
    root = tmp_path_factory.mktemp("hostile")
    return {
        name: hostile_files.corpus(root / name, headers, settings.IMPORT_MAX_BYTES)
        for name, headers in IMPORTERS.items()
    }


def test_the_corpus_has_every_kind_the_checks_expect():
    assert set(hostile_files.KINDS) == set(EXPECTED)


@pytest.fixture
def uploaders(tree, settings, tmp_path):
    """importer -> (client logged in as who may use it, post(file) -> response, rows it could write)."""
    settings.MEDIA_ROOT = tmp_path
    today = timezone.localdate()  # results are registered within the training dates only
    period = PeriodFactory(
        city=tree.city, training_starts_on=today - dt.timedelta(days=30), training_ends_on=today + dt.timedelta(days=30)
    )
    provider = ProviderFactory()
    CourseFactory(period=period, provider=provider)  # the results form offers the provider's periods
    staff = User.objects.create_user("110101199003070011", "pw", name="机构老师")
    ProviderStaff.objects.create(provider=provider, user=staff)
    programme = programme_with_chain(tree.city, title="校长任职资格培训", quotas={tree.district1: 5})

    def client_for(user):
        client = Client(raise_request_exception=False)
        client.force_login(user)
        return client

    def upload(path: Path):
        return SimpleUploadedFile(path.name, path.read_bytes())

    roster, courses, quota, results = (
        client_for(tree.alice),
        client_for(tree.erin),
        client_for(tree.erin),
        client_for(staff),
    )
    return {
        "roster": lambda p: roster.post(reverse("portal:roster_import"), {"file": upload(p), "unit": tree.school_a.pk}),
        "courses": lambda p: courses.post(reverse("courses:course_import"), {"period": period.pk, "file": upload(p)}),
        "quota": lambda p: quota.post(
            reverse("enrollment:quota_manage", args=[programme.pk]), {"form": "import", "import-file": upload(p)}
        ),
        "results": lambda p: results.post(
            reverse("courses:results_import"), {"provider": provider.pk, "period": period.pk, "file": upload(p)}
        ),
    }


def written() -> tuple[int, ...]:
    return (Teacher.objects.count(), Course.objects.count(), Quota.objects.count(), CreditEntry.objects.count())


@pytest.mark.parametrize("importer", sorted(IMPORTERS))
def test_every_hostile_file_gets_its_message_and_writes_nothing(corpora, uploaders, importer):
    before = written()
    answers = {}
    for kind, path in corpora[importer].items():
        response = uploaders[importer](path)
        body = response.content.decode()
        answers[kind] = (response.status_code, EXPECTED[kind] in body)

    assert answers == {kind: (200, True) for kind in EXPECTED}
    assert written() == before


def test_reading_any_hostile_file_stays_within_the_memory_budget(corpora):
    # One fresh interpreter per file (its own high-water mark), two at a time: one per core.
    with ThreadPoolExecutor(max_workers=2) as pool:
        files = corpora["roster"]
        readings = dict(zip(files, pool.map(hostile_files.reader_peak, files.values()), strict=True))

    crashed = {kind: r.outcome for kind, r in readings.items() if r.outcome.startswith("crash")}
    over = {kind: r.peak_mb - r.base_mb for kind, r in readings.items() if r.peak_mb - r.base_mb > READER_BUDGET_MB}
    assert (crashed, over) == ({}, {})
    # The bombs are refused while they inflate, long before the budget.
    bombs = ("zip_bomb", "understated_sizes", "shared_strings_bomb", "million_rows", "stray_cell")
    assert {kind: readings[kind].peak_mb - readings[kind].base_mb < 100 for kind in bombs} == dict.fromkeys(bombs, True)
