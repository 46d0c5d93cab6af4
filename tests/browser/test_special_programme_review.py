import tempfile
from pathlib import Path

import pytest
import time_machine

from enrollment.models import Application, ApplicationState
from portal.models import Stage
from tests.factories.enrollment import at, bulk_applications, programme_with_chain
from tests.factories.portal import TeacherFactory

SCREENSHOT = Path(tempfile.gettempdir()) / "jijiao-enrollment-review.png"


@pytest.fixture
def stages(transactional_db):
    """The stage rows the data migration made: an earlier transactional test may have flushed them, and with
    Playwright's event loop running the serialized copy is not restored (Django's connection is context-local).
    """
    Stage.objects.get_or_create(code="junior", defaults={"name": "初中", "order": 30, "compulsory": True})


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_school_admin_selects_all_and_approves_before_the_school_deadline(live_server, page, stages, tree):
    programme = programme_with_chain(tree.city, title="中学(中职)校长任职资格培训", quotas={tree.district1: 15})
    bulk_applications(programme, TeacherFactory.create_batch(3, unit=tree.school_a))
    bulk_applications(programme, TeacherFactory.create_batch(1, unit=tree.school_b))

    with time_machine.travel(at("2022-03-18 23:50"), tick=True):
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("身份证号").fill(tree.alice.id_number)
        page.get_by_label("密码").fill("pw-123456")
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(f"{live_server.url}/")
        assert "待审核 3 份，截止 3月18日" in page.content()
        page.get_by_role("link", name="去审核").click()
        page.get_by_label("全选本页").check()
        page.get_by_label("操作").select_option("approve")
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="执行").click()
        page.wait_for_load_state()

        assert "已通过 3 份申请" in page.content()
        page.screenshot(path=SCREENSHOT, full_page=True)
    states = sorted(Application.objects.values_list("school__name", "state"))
    assert states == [("A校", ApplicationState.APPROVED)] * 3 + [("B校", ApplicationState.SUBMITTED)]
