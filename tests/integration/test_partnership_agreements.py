"""A school's provider, the agreed fee, the signed agreement (a real PDF) and its filing (备案) with versions."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from courses import services
from courses.models import Agreement, AgreementState, AgreementVersion, SchoolProviderMode
from portal.models import Notification, Role
from tests.factories.partnership import IN_TRAINING, maoming, pdf_upload, private_files_in, real_pdf
from tests.factories.portal import SchoolFactory, admin_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def m(tree, monkeypatch, tmp_path):
    private_files_in(monkeypatch, tmp_path)
    return maoming(tree)


def choose(m, provider=None, school=None, actor=None):
    return services.agreement_choose(
        school=school or m.tree.school_a,
        period=m.period,
        provider=provider or m.p1,
        actor=actor or m.tree.alice,
        now=IN_TRAINING,
    )


def upload(agreement, actor, fee="3.50", file=None):
    return services.agreement_upload(
        agreement, file=file or pdf_upload(), fee=Decimal(fee), actor=actor, now=IN_TRAINING
    )


def test_a_school_chooses_exactly_one_provider(m):
    choose(m, m.p1)

    with pytest.raises(services.PartnershipError) as exc:
        choose(m, m.p2)

    assert str(exc.value) == f"贵校本期已选择“{m.p1.name}”；每校只能选择一家施教机构，如需更换请先撤销原选择"
    assert Agreement.objects.filter(school=m.tree.school_a).count() == 1


def test_a_second_provider_is_allowed_when_the_period_switches_the_rule_off(m):
    m.period.school_providers = SchoolProviderMode.MANY
    m.period.save()
    choose(m, m.p1)

    choose(m, m.p2)

    assert sorted(Agreement.objects.filter(school=m.tree.school_a).values_list("provider__name", flat=True)) == sorted(
        [m.p1.name, m.p2.name]
    )


def test_a_cancelled_choice_lets_the_school_choose_again(m):
    first = choose(m, m.p1)
    services.agreement_cancel(first, m.tree.alice, IN_TRAINING)

    second = choose(m, m.p2)

    assert (Agreement.objects.get(pk=first.pk).state, second.state) == (AgreementState.CANCELLED, AgreementState.CHOSEN)


def test_a_period_without_the_model_refuses_a_choice(m):
    m.period.school_providers = SchoolProviderMode.NONE
    m.period.save()

    with pytest.raises(services.PartnershipError) as exc:
        choose(m)

    assert str(exc.value) == "本期不采用学校选择施教机构的方式"


def test_only_the_schools_own_admin_chooses(m):
    with pytest.raises(PermissionDenied):
        choose(m, actor=m.tree.bob)


def test_the_fee_at_the_cap_is_accepted(m):
    agreement = choose(m)

    upload(agreement, m.tree.alice, fee="4.00")

    assert Agreement.objects.get(pk=agreement.pk).fee_per_hour == Decimal("4.00")


def test_a_fee_above_the_cap_is_refused_with_the_cap_in_the_message(m):
    agreement = choose(m)

    with pytest.raises(services.PartnershipError) as exc:
        upload(agreement, m.tree.alice, fee="4.01")

    assert str(exc.value) == "每人每学时收费 4.01 元超过本期上限 4.00 元，请按不超过 4.00 元协商"
    assert AgreementVersion.objects.count() == 0


def test_a_renamed_executable_is_refused_as_not_a_pdf(m):
    agreement = choose(m)
    exe = SimpleUploadedFile("协议书.pdf", b"MZ\x90\x00" + b"\x00" * 2000)

    with pytest.raises(services.PartnershipError) as exc:
        upload(agreement, m.tree.alice, file=exe)

    assert str(exc.value) == "文件内容不是 PDF，请上传扫描或导出的 PDF 文件（改扩展名的文件无法识别）。"
    assert AgreementVersion.objects.count() == 0


def test_an_oversized_pdf_is_refused(m, settings):
    settings.DOCUMENT_MAX_BYTES = 2000
    agreement = choose(m)
    big = SimpleUploadedFile("协议书.pdf", real_pdf() + b" " * 3000)

    with pytest.raises(services.PartnershipError) as exc:
        upload(agreement, m.tree.alice, file=big)

    assert "超过上限" in str(exc.value)
    assert AgreementVersion.objects.count() == 0


def test_a_real_pdf_is_stored_outside_the_web_root_and_the_county_is_told(m, tmp_path):
    agreement = choose(m)

    version = upload(agreement, m.tree.alice)

    assert version.file.path.startswith(str(tmp_path))
    assert version.file.name.endswith(".pdf")
    assert (Agreement.objects.get(pk=agreement.pk).state, agreement.filing_unit) == (
        AgreementState.PENDING,
        m.tree.district1,
    )
    assert list(Notification.objects.filter(kind="agreement_uploaded").values_list("user__name", flat=True)) == [
        "carol"
    ]


def test_filing_returns_and_corrected_versions_are_all_kept(m):
    agreement = choose(m)
    upload(agreement, m.tree.alice, fee="3.00")
    services.agreement_return(agreement, m.tree.carol, "未加盖公章", IN_TRAINING)
    upload(agreement, m.tree.alice, fee="3.50")

    services.agreement_file(agreement, m.tree.carol, IN_TRAINING)

    versions = list(agreement.versions.order_by("number").values_list("number", "fee_per_hour", "decision", "reason"))
    assert versions == [
        (1, Decimal("3.00"), AgreementState.RETURNED, "未加盖公章"),
        (2, Decimal("3.50"), AgreementState.FILED, ""),
    ]
    assert Agreement.objects.get(pk=agreement.pk).state == AgreementState.FILED
    assert list(
        Notification.objects.filter(kind="agreement_decided").order_by("id").values_list("title", flat=True)
    ) == [
        "协议被退回",
        "协议已备案",
    ]


def test_a_return_needs_a_reason(m):
    agreement = choose(m)
    upload(agreement, m.tree.alice)

    with pytest.raises(services.PartnershipError) as exc:
        services.agreement_return(agreement, m.tree.carol, "  ", IN_TRAINING)

    assert str(exc.value) == "退回须填写原因"


def test_only_the_schools_county_files_it(m):
    agreement = choose(m)
    upload(agreement, m.tree.alice)
    other_county = admin_user(Role.DISTRICT_ADMIN, m.tree.district2)

    with pytest.raises(PermissionDenied):
        services.agreement_file(agreement, other_county, IN_TRAINING)
    with pytest.raises(PermissionDenied):
        services.agreement_file(agreement, m.tree.erin, IN_TRAINING)  # the city does not file a county's schools


def test_a_filed_agreement_cannot_be_replaced(m):
    agreement = choose(m)
    upload(agreement, m.tree.alice)
    services.agreement_file(agreement, m.tree.carol, IN_TRAINING)

    with pytest.raises(services.PartnershipError) as exc:
        upload(agreement, m.tree.alice)

    assert str(exc.value) == "协议已备案，不能再上传"


def test_a_school_directly_under_the_city_files_with_the_city(m):
    direct = SchoolFactory(name="市直属中学", parent=m.tree.city)
    principal = admin_user(Role.SCHOOL_ADMIN, direct)
    agreement = choose(m, school=direct, actor=principal)
    upload(agreement, principal)

    services.agreement_file(agreement, m.tree.erin, IN_TRAINING)

    assert (agreement.filing_unit, Agreement.objects.get(pk=agreement.pk).state) == (m.tree.city, AgreementState.FILED)


def _uploaded(m):
    agreement = choose(m)
    return upload(agreement, m.tree.alice)


@pytest.mark.parametrize("who", ["alice", "carol", "erin", "staff1"])
def test_the_pdf_is_served_to_the_school_its_county_the_city_and_the_provider(m, client, who):
    version = _uploaded(m)
    user = getattr(m, who, None) or getattr(m.tree, who)
    client.force_login(user)

    response = client.get(reverse("courses:agreement_document", args=[version.pk]))

    assert (response.status_code, response["Content-Type"], response["Cache-Control"]) == (
        200,
        "application/pdf",
        "private, no-store",
    )
    assert b"".join(response.streaming_content).startswith(b"%PDF-")


@pytest.mark.parametrize("who", ["bob", "dave", "teacher_a", "staff2"])
def test_the_pdf_is_not_found_for_anyone_else(m, client, who):
    version = _uploaded(m)
    user = getattr(m, who, None) or getattr(m.tree, who)
    client.force_login(user)

    assert client.get(reverse("courses:agreement_document", args=[version.pk])).status_code == 404
    assert client.get(reverse("courses:agreement_detail", args=[version.agreement_id])).status_code == 404


def test_the_upload_form_refuses_a_renamed_file_by_its_content(m, client):
    agreement = choose(m)
    client.force_login(m.tree.alice)

    response = client.post(
        reverse("courses:agreement_upload", args=[agreement.pk]),
        {f"a{agreement.pk}-fee_per_hour": "3.50", f"a{agreement.pk}-file": SimpleUploadedFile("x.pdf", b"MZ" * 600)},
    )

    assert response.status_code == 422
    assert "文件内容不是 PDF" in response.content.decode()
    assert AgreementVersion.objects.count() == 0


def test_the_upload_form_refuses_a_fee_above_the_cap(m, client):
    agreement = choose(m)
    client.force_login(m.tree.alice)

    response = client.post(
        reverse("courses:agreement_upload", args=[agreement.pk]),
        {f"a{agreement.pk}-fee_per_hour": "4.01", f"a{agreement.pk}-file": pdf_upload()},
    )

    assert response.status_code == 422
    assert "每人每学时收费 4.01 元超过本期上限 4.00 元" in response.content.decode()


def test_the_county_files_from_the_agreement_page(m, client):
    agreement = choose(m)
    upload(agreement, m.tree.alice)
    client.force_login(m.tree.carol)

    response = client.post(reverse("courses:agreement_decide", args=[agreement.pk]), {"action": "file"})

    assert response.status_code == 302
    assert Agreement.objects.get(pk=agreement.pk).state == AgreementState.FILED


def test_the_school_home_page_shows_the_agreement_state(m, client):
    agreement = choose(m)
    upload(agreement, m.tree.alice)
    services.agreement_return(agreement, m.tree.carol, "未加盖公章", IN_TRAINING)
    client.force_login(m.tree.alice)

    page = client.get(reverse("home")).content.decode()

    assert f"与{m.p1.name}的协议书被退回：未加盖公章。请上传更正后的协议书。" in page


def test_a_guangzhou_style_period_adds_no_cards(tree, client):
    from tests.factories.courses import PeriodFactory

    PeriodFactory(city=tree.city)  # school_providers defaults to "none"
    client.force_login(tree.alice)

    page = client.get(reverse("home")).content.decode()

    assert "施教机构与协议" not in page
