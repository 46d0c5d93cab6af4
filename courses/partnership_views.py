"""Pages of the school–provider model (Maoming 2024): offers and their approval (立项), a school's
provider and agreement with its filing (备案), the participant information form, who must train,
fee statements, late registrations and outcome compilations.

Thin, as every view here: parse the request, scope it (courses.selectors starts from portal.scoping;
outsiders get 404), call one service, render.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from courses import selectors, services
from courses.exporting import xlsx_response
from courses.forms import (
    AgreementUploadForm,
    ChooseProviderForm,
    LateRegistrationForm,
    OfferForm,
    OutcomeForm,
    ReasonForm,
)
from courses.models import (
    UPLOADABLE_AGREEMENT_STATES,
    Agreement,
    AgreementState,
    AgreementVersion,
    CourseOffer,
    LateRegistration,
    OfferRule,
    OfferStatus,
    OutcomeCompilation,
    Provider,
    TrainingPeriod,
)
from credits.rule_engine import fmt_hours
from portal.converters import parse_id
from portal.decorators import role_required
from portal.locking import LockBusy
from portal.models import EMPLOYER_KINDS, Role, Unit, UnitKind
from portal.privacy import id_number_for, personal_data_access_record
from portal.scoping import get_visible_or_404, scope_for, units_visible_to
from portal.uploads import document_response

PAGE_SIZE = 50
ADMINS = (Role.SCHOOL_ADMIN, Role.DISTRICT_ADMIN, Role.CITY_ADMIN)
FILERS = (Role.DISTRICT_ADMIN, Role.CITY_ADMIN)
REFUSALS = (services.PartnershipError, LockBusy)


# --- helpers --------------------------------------------------------------------------------------


class NoPeriod(Exception):
    """The user's cities have no period this page is about (Guangzhou has none with school providers)."""


def period_page(view):
    """A page about a period: where there is none yet, it says so instead of failing."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NoPeriod:
            return render(request, "courses/no_period.html")

    return wrapped


def _pick(request: HttpRequest, periods: list[TrainingPeriod]) -> TrainingPeriod:
    """The period of ?period= among ``periods`` (404 otherwise), else the current one; NoPeriod when there is none."""
    wanted = request.GET.get("period") or request.POST.get("period")
    if wanted:
        for period in periods:
            if str(period.pk) == wanted:
                return period
        raise Http404
    period = selectors.period_current(periods, timezone.now())
    if period is None:
        raise NoPeriod
    return period


def _partnership_period(request: HttpRequest) -> tuple[TrainingPeriod, list[TrainingPeriod]]:
    periods = selectors.partnership_periods_visible_to(request.user)
    return _pick(request, periods), periods


def _my_school(request: HttpRequest) -> Unit:
    """The school the school admin acts for (?school= when she holds several)."""
    schools = [u for u in scope_for(request.user).units.get(Role.SCHOOL_ADMIN, ()) if u.kind in EMPLOYER_KINDS]
    if not schools:
        raise PermissionDenied
    wanted = request.GET.get("school") or request.POST.get("school")
    if wanted:
        for school in schools:
            if str(school.pk) == wanted:
                return school
        raise Http404
    return schools[0]


def _querystring(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def _refused(request: HttpRequest, exc: Exception) -> None:
    messages.error(request, str(exc))


def _visible_agreement(request: HttpRequest, pk: int) -> Agreement:
    return get_visible_or_404(selectors.agreements_visible_to(request.user), pk=pk)


def _school_page(school: Unit, period: TrainingPeriod) -> str:
    return f"{reverse('courses:school_provider')}?period={period.pk}&school={school.pk}"


# --- the school admin: choose the provider, upload the agreement, send the participant form ----------


@role_required(Role.SCHOOL_ADMIN)
@period_page
def school_provider(request: HttpRequest) -> HttpResponse:
    """The school's provider for the period, its agreement's state and versions, participants and passes."""
    school = _my_school(request)
    period, periods = _partnership_period(request)
    return render(request, "courses/school_provider.html", _school_context(school, period, periods))


def _school_context(school: Unit, period: TrainingPeriod, periods, upload_form=None, upload_for=None) -> dict:
    agreements = selectors.school_agreements(school, period)
    forms_sent = selectors.latest_participant_forms(period, [school.pk])
    passed = selectors.passed_counts(period, Q(teacher__unit=school))
    versions: dict[int, list[AgreementVersion]] = {}
    for version in AgreementVersion.objects.filter(agreement__in=agreements).order_by("-number"):
        versions.setdefault(version.agreement_id, []).append(version)
    rows = []
    for agreement in agreements:
        form = None
        if agreement.state in UPLOADABLE_AGREEMENT_STATES:
            form = (
                upload_form
                if upload_for == agreement.pk
                else AgreementUploadForm(
                    cap=period.max_fee_per_hour,
                    initial={"fee_per_hour": agreement.fee_per_hour},
                    prefix=f"a{agreement.pk}",
                )
            )
        rows.append(
            {
                "agreement": agreement,
                "versions": versions.get(agreement.pk, []),
                "upload_form": form,
                "participants": len(selectors.participants_of(agreement)),
                "last_form": forms_sent.get((school.pk, agreement.provider_id)),
                "passed": passed.get((school.pk, agreement.provider_id), 0),
            }
        )
    may_choose = not agreements or not period.one_provider_per_school
    return {
        "school": school,
        "period": period,
        "periods": periods,
        "rows": rows,
        "choose_form": ChooseProviderForm(providers=selectors.providers_for_period(period)) if may_choose else None,
    }


@require_POST
@role_required(Role.SCHOOL_ADMIN)
def agreement_choose(request: HttpRequest) -> HttpResponse:
    school = _my_school(request)
    period, _periods = _partnership_period(request)
    form = ChooseProviderForm(request.POST, providers=selectors.providers_for_period(period))
    if form.is_valid():
        try:
            agreement = services.agreement_choose(
                school=school,
                period=period,
                provider=form.cleaned_data["provider"],
                actor=request.user,
                now=timezone.now(),
            )
        except REFUSALS as exc:
            _refused(request, exc)
        else:
            messages.success(
                request,
                _("已选择“%(provider)s”，请填写协商的收费并上传签订的协议书") % {"provider": agreement.provider.name},
            )
    else:
        messages.error(request, _("请选择施教机构"))
    return redirect(_school_page(school, period))


@require_POST
@role_required(Role.SCHOOL_ADMIN)
def agreement_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """The signed agreement (PDF) and the agreed fee; a refused form is shown again with its errors."""
    agreement = _visible_agreement(request, pk)
    school, period = agreement.school, agreement.period
    if not scope_for(request.user).reaches(school, roles=(Role.SCHOOL_ADMIN,)):
        raise PermissionDenied
    form = AgreementUploadForm(request.POST, request.FILES, cap=period.max_fee_per_hour, prefix=f"a{agreement.pk}")
    if form.is_valid():
        try:
            services.agreement_upload(
                agreement,
                file=form.cleaned_data["file"],
                fee=form.cleaned_data["fee_per_hour"],
                actor=request.user,
                now=timezone.now(),
            )
        except REFUSALS as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("协议书已上传，等待%(unit)s备案") % {"unit": agreement.filing_unit.name})
            return redirect(_school_page(school, period))
    periods = selectors.partnership_periods_visible_to(request.user)
    context = _school_context(school, period, periods, upload_form=form, upload_for=agreement.pk)
    return render(request, "courses/school_provider.html", context, status=422)


@require_POST
@role_required(Role.SCHOOL_ADMIN)
def agreement_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    agreement = _visible_agreement(request, pk)
    try:
        services.agreement_cancel(agreement, request.user, timezone.now())
    except REFUSALS as exc:
        _refused(request, exc)
    else:
        messages.success(request, _("已撤销对“%(provider)s”的选择") % {"provider": agreement.provider.name})
    return redirect(_school_page(agreement.school, agreement.period))


@require_POST
@role_required(Role.SCHOOL_ADMIN)
def participants_send(request: HttpRequest, pk: int) -> HttpResponse:
    agreement = _visible_agreement(request, pk)
    try:
        sent = services.participant_form_send(agreement, request.user, timezone.now())
    except REFUSALS as exc:
        _refused(request, exc)
    else:
        messages.success(
            request,
            _("已向%(provider)s发送学员信息采集表（%(n)d 人）")
            % {"provider": agreement.provider.name, "n": sent.count},
        )
    return redirect(_school_page(agreement.school, agreement.period))


@login_required
def participants_export(request: HttpRequest, pk: int) -> HttpResponse:
    """学员信息采集表 as xlsx with whole ID numbers (recorded): the school's current list, or for the
    provider the list the school last sent."""
    agreement = _visible_agreement(request, pk)
    scope = scope_for(request.user)
    if scope.reaches(agreement.school, roles=(Role.SCHOOL_ADMIN,)):
        teachers = selectors.participants_of(agreement)
    elif agreement.provider_id in scope.provider_ids:
        teachers = _sent_teachers(agreement)
    else:
        raise PermissionDenied
    title = _("%(year)s年%(city)s继续教育专业科目远程培训学员信息采集表") % {
        "year": agreement.period.year,
        "city": agreement.period.city.name,
    }
    rows = selectors.participant_form_rows(teachers)
    personal_data_access_record(
        request.user,
        purpose=_("学员信息采集表"),
        count=len(rows),
        detail=f"{agreement.period.code} {agreement.school.name} → {agreement.provider.name}",
    )
    return xlsx_response(
        f"{title}-{agreement.school.name}.xlsx",
        f"{title}（{agreement.school.name}）",
        selectors.PARTICIPANT_FORM_HEADERS,
        rows,
    )


def _sent_teachers(agreement: Agreement) -> list:
    sent = selectors.latest_participant_forms(agreement.period, [agreement.school_id]).get(
        (agreement.school_id, agreement.provider_id)
    )
    if sent is None:
        return []
    return list(sent.teachers.select_related("unit__parent", "stage").order_by("name", "pk"))


# --- an agreement: the school, its county center, the city and the provider ----------------------------


@login_required
def agreement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    agreement = _visible_agreement(request, pk)
    scope = scope_for(request.user)
    sent = selectors.latest_participant_forms(agreement.period, [agreement.school_id]).get(
        (agreement.school_id, agreement.provider_id)
    )
    teachers = list(sent.teachers.select_related("unit__parent", "stage").order_by("name", "pk")) if sent else []
    for teacher in teachers:
        teacher.shown_id_number = id_number_for(teacher.id_number)
    passed = selectors.passed_counts(agreement.period, Q(teacher__unit=agreement.school_id)).get(
        (agreement.school_id, agreement.provider_id), 0
    )
    return render(
        request,
        "courses/agreement_detail.html",
        {
            "agreement": agreement,
            "versions": list(agreement.versions.order_by("-number")),
            "may_file": agreement.state == AgreementState.PENDING
            and services.agreement_may_file(agreement, request.user),
            "is_provider": agreement.provider_id in scope.provider_ids,
            "reason_form": ReasonForm(),
            "sent": sent,
            "teachers": teachers,
            "passed": passed,
        },
    )


@require_POST
@role_required(*FILERS)
def agreement_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """备案 (action=file) or return with a reason (action=return)."""
    agreement = _visible_agreement(request, pk)
    form = ReasonForm(request.POST)
    form.is_valid()
    now = timezone.now()
    try:
        if request.POST.get("action") == "file":
            services.agreement_file(agreement, request.user, now, form.cleaned_data.get("reason", ""))
            messages.success(request, _("已备案：%(school)s") % {"school": agreement.school.name})
        else:
            services.agreement_return(agreement, request.user, form.cleaned_data.get("reason", ""), now)
            messages.success(request, _("已退回：%(school)s") % {"school": agreement.school.name})
    except REFUSALS as exc:
        _refused(request, exc)
    return redirect("courses:agreement_detail", pk=agreement.pk)


@login_required
def agreement_document(request: HttpRequest, pk: int) -> HttpResponse:
    """A signed agreement's PDF: only for the school, its county center, the city and the provider."""
    version = get_visible_or_404(
        AgreementVersion.objects.filter(agreement__in=selectors.agreements_visible_to(request.user)).select_related(
            "agreement__school", "agreement__provider"
        ),
        pk=pk,
    )
    agreement = version.agreement
    return document_response(
        version.file, f"{agreement.school.name}-{agreement.provider.name}-协议书-v{version.number}"
    )


# --- the county (and the city): every school's provider, agreement and participant form ------------------

STATE_FILTERS = {
    "none": lambda r: r.agreement is None,
    "unfiled": lambda r: not r.filed,
    "stale": lambda r: r.agreement is not None and r.form_stale,
    **{s.value: (lambda r, s=s: r.agreement is not None and r.agreement.state == s) for s in AgreementState},
}


@role_required(*FILERS)
@period_page
def agreements_overview(request: HttpRequest) -> HttpResponse:
    period, periods = _partnership_period(request)
    rows = selectors.schools_overview(period, scope_for(request.user))
    state = request.GET.get("state", "")
    q = request.GET.get("q", "").strip()[:30]
    shown = [
        r for r in rows if (state not in STATE_FILTERS or STATE_FILTERS[state](r)) and (not q or q in r.school.name)
    ]
    if request.GET.get("export") == "xlsx":
        return xlsx_response(
            f"agreements-{period.code}.xlsx",
            _("学校施教机构与协议备案"),
            [
                _("学校"),
                _("所属区县"),
                _("施教机构"),
                _("协议状态"),
                _("每人每学时收费"),
                _("须参训"),
                _("已合格"),
                _("采集表最近发送"),
            ],
            (
                [
                    r.school.name,
                    selectors.district_name(r.school),
                    r.agreement.provider.name if r.agreement else "",
                    r.agreement.get_state_display() if r.agreement else _("未选择"),
                    r.agreement.fee_per_hour if r.agreement else None,
                    r.must_train,
                    r.passed,
                    r.last_form.sent_at if r.last_form else None,
                ]
                for r in shown
            ),
        )
    page = Paginator(shown, PAGE_SIZE).get_page(request.GET.get("page"))
    providers: dict[int, dict] = {}
    for r in rows:
        if r.agreement:
            line = providers.setdefault(
                r.agreement.provider_id, {"provider": r.agreement.provider, "schools": 0, "passed": 0}
            )
            line["schools"] += 1
            line["passed"] += r.passed
    past_due = bool(period.agreement_due_on and timezone.localdate() > period.agreement_due_on)
    return render(
        request,
        "courses/agreements_overview.html",
        {
            "period": period,
            "periods": periods,
            "page": page,
            "state": state,
            "q": q,
            "querystring": _querystring(request),
            "states": [(k, label) for k, label in _state_choices()],
            "counts": {
                "schools": len({r.school.pk for r in rows}),
                "none": sum(1 for r in rows if r.agreement is None),
                "pending": sum(1 for r in rows if r.agreement and r.agreement.state == AgreementState.PENDING),
                "unfiled": len({r.school.pk for r in rows if not r.filed} - {r.school.pk for r in rows if r.filed}),
            },
            "past_due": past_due,
            "provider_lines": sorted(providers.values(), key=lambda p: p["provider"].code),
        },
    )


def _state_choices():
    yield "", _("全部")
    yield "none", _("未选择施教机构")
    yield "unfiled", _("未备案")
    yield "stale", _("采集表待更新")
    for s in AgreementState:
        if s != AgreementState.CANCELLED:
            yield s.value, s.label


# --- the provider: the schools that chose it ------------------------------------------------------------


@role_required(Role.PROVIDER)
@period_page
def provider_schools(request: HttpRequest) -> HttpResponse:
    period, periods = _partnership_period(request)
    agreements = list(
        selectors.agreements_visible_to(request.user)
        .filter(period=period, provider_id__in=scope_for(request.user).provider_ids)
        .order_by("school__path")
    )
    sent = selectors.latest_participant_forms(period, {a.school_id for a in agreements})
    passed = selectors.passed_counts(period, Q(teacher__unit_id__in=[a.school_id for a in agreements]))
    for a in agreements:
        a.last_form = sent.get((a.school_id, a.provider_id))
        a.passed = passed.get((a.school_id, a.provider_id), 0)
    page = Paginator(agreements, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "courses/provider_schools.html",
        {"period": period, "periods": periods, "page": page, "querystring": _querystring(request)},
    )


# --- who must train -------------------------------------------------------------------------------------


class _MustTrainList:
    """Paginator-compatible list of one school's teachers who must train: count and slices are one query each."""

    def __init__(self, period: TrainingPeriod, unit: Unit):
        self.period, self.unit, self.tree = period, unit, period.rule_set.tree

    def count(self) -> int:
        from credits.selectors import short_count

        return short_count(self.unit, self.period.year, self.tree)

    def __getitem__(self, s: slice):
        from credits.selectors import teacher_rows, with_evaluations

        rows = teacher_rows(
            self.unit, self.period.year, self.tree, only_short=True, limit=s.stop - s.start, offset=s.start
        )
        return with_evaluations(list(rows), self.tree)


@role_required(*ADMINS)
@period_page
def must_train(request: HttpRequest) -> HttpResponse:
    """培训对象: a school's teachers whose ledger does not meet the period's rule (list and export);
    for the county and the city, how many per school."""
    period, periods = _partnership_period(request)
    if period.rule_set is None:
        raise Http404
    unit = _must_train_unit(request)
    context = {"period": period, "periods": periods, "unit": unit, "querystring": _querystring(request)}
    if unit is not None:
        if request.GET.get("export") == "xlsx":
            from credits.selectors import teacher_rows, with_evaluations

            rows = with_evaluations(
                list(teacher_rows(unit, period.year, period.rule_set.tree, only_short=True)), period.rule_set.tree
            )
            return xlsx_response(
                f"must-train-{period.code}-{unit.code}.xlsx",
                _("%(unit)s须参训教师（%(period)s）") % {"unit": unit.name, "period": period.name},
                [_("姓名"), _("身份证号"), _("单位"), _("总学时"), _("还差")],
                ([r.name, r.masked_id_number, r.unit_name, r.total, r.evaluation.sentence] for r in rows),
            )
        context["page"] = Paginator(_MustTrainList(period, unit), PAGE_SIZE).get_page(request.GET.get("page"))
    else:
        schools = selectors.must_train_by_school(period, scope_for(request.user))
        if request.GET.get("export") == "xlsx":
            return xlsx_response(
                f"must-train-{period.code}.xlsx",
                _("各校须参训教师人数（%(period)s）") % {"period": period.name},
                [_("学校"), _("所属区县"), _("在职教师"), _("须参训")],
                ([u.name, selectors.district_name(u), n, short] for u, n, short in schools),
            )
        context["page"] = Paginator(schools, PAGE_SIZE).get_page(request.GET.get("page"))
        context["total"] = sum(short for _u, _n, short in schools)
    return render(request, "courses/must_train.html", context)


def _must_train_unit(request: HttpRequest) -> Unit | None:
    """The school whose list is shown: ?unit= (any visible employer unit), else a school admin's own school."""
    raw = request.GET.get("unit")
    if raw:
        pk = parse_id(raw)
        if pk is None:
            raise Http404
        return get_visible_or_404(units_visible_to(request.user).filter(kind__in=EMPLOYER_KINDS), pk=pk)
    scope = scope_for(request.user)
    if scope.paths.get(Role.DISTRICT_ADMIN) or scope.paths.get(Role.CITY_ADMIN):
        return None
    return _my_school(request)


# --- money ----------------------------------------------------------------------------------------------


@role_required(*ADMINS, Role.PROVIDER)
@period_page
def statements(request: HttpRequest) -> HttpResponse:
    """Fee statements per school and provider in reach; for the city, totals per provider and per county.

    Every period has them (Guangzhou: at the courses' fees, with its split of who pays which category).
    """
    periods = list(selectors.periods_visible_to(request.user))
    period = _pick(request, periods)
    scope = scope_for(request.user)
    by_school, by_provider, by_county = selectors.fee_totals(period, scope)
    if request.GET.get("export") == "xlsx":
        return xlsx_response(
            f"fees-{period.code}.xlsx",
            _("培训费用结算（%(period)s）") % {"period": period.name},
            [_("学校"), _("所属区县"), _("施教机构"), _("参训人数"), _("获得学时"), _("金额（元）")],
            (
                [t.key[0].name, selectors.district_name(t.key[0]), t.key[1].name, t.participants, t.hours, t.amount]
                for t in by_school
            ),
        )
    page = Paginator(by_school, PAGE_SIZE).get_page(request.GET.get("page"))
    city_view = scope.reaches(period.city, roles=(Role.CITY_ADMIN,))
    return render(
        request,
        "courses/statements.html",
        {
            "period": period,
            "periods": periods,
            "page": page,
            "querystring": _querystring(request),
            "by_provider": by_provider if city_view else None,
            "by_county": by_county if city_view else None,
        },
    )


@role_required(*ADMINS, Role.PROVIDER)
def statement_detail(request: HttpRequest, period_pk: int, school_pk: int, provider_pk: int) -> HttpResponse:
    """One school's statement with one provider: the school, its county, the city, and the chosen provider."""
    period = get_visible_or_404(selectors.periods_visible_to(request.user), pk=period_pk)
    scope = scope_for(request.user)
    school = get_visible_or_404(Unit.objects.select_related("parent"), pk=school_pk)
    provider = get_visible_or_404(Provider.objects.all(), pk=provider_pk)
    chose = selectors.agreements_visible_to(request.user).filter(period=period, school=school, provider=provider)
    if not (scope.reaches(school) or (provider.pk in scope.provider_ids and chose.exists())):
        raise Http404
    statement = selectors.fee_statement(period, school, provider)
    if request.GET.get("export") == "xlsx":
        rows = [
            [
                line.teacher.name,
                id_number_for(line.teacher.id_number),
                line.category_label,
                line.hours,
                line.rate,
                line.amount,
            ]
            for line in _labelled(statement.lines)
        ]
        rows += [[_("合计"), "", "", statement.hours, "", statement.amount]]
        rows += [[c.label, "", c.payer_label, c.hours, "", c.amount] for c in statement.categories]
        return xlsx_response(
            f"statement-{period.code}-{school.code}-{provider.code}.xlsx",
            _("%(school)s · %(provider)s 培训费用结算单（%(period)s）")
            % {"school": school.name, "provider": provider.name, "period": period.name},
            [_("姓名"), _("身份证号"), _("科目类别 / 费用承担"), _("获得学时"), _("每人每学时（元）"), _("金额（元）")],
            rows,
        )
    return render(
        request, "courses/statement_detail.html", {"statement": statement, "lines": _labelled(statement.lines)}
    )


def _labelled(lines):
    from credits.models import Category

    for line in lines:
        line.category_label = str(Category(line.category).label)
        line.shown_id_number = id_number_for(line.teacher.id_number)
    return lines


# --- offers and their approval (立项) -------------------------------------------------------------------


@role_required(Role.PROVIDER, Role.DISTRICT_ADMIN, Role.CITY_ADMIN)
def offer_list(request: HttpRequest) -> HttpResponse:
    offers = selectors.offers_visible_to(request.user).prefetch_related("stages")
    status = request.GET.get("status", "")
    if status in OfferStatus.values:
        offers = offers.filter(status=status)
    page = Paginator(offers.order_by("-period__year", "status", "provider__code", "pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "courses/offer_list.html",
        {
            "page": page,
            "status": status,
            "statuses": OfferStatus.choices,
            "to_decide": selectors.offers_to_decide(request.user).count(),
            "querystring": _querystring(request),
            "is_provider": bool(scope_for(request.user).provider_ids),
        },
    )


@role_required(Role.PROVIDER)
def offer_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    scope = scope_for(request.user)
    offer = None
    if pk is not None:
        offer = get_visible_or_404(CourseOffer.objects.filter(provider_id__in=scope.provider_ids), pk=pk)
    periods = selectors.offer_periods_visible_to(request.user)
    providers = Provider.objects.filter(pk__in=scope.provider_ids).order_by("code")
    in_cities = Q(pk__in=[])
    for city_path in {p.city.path for p in periods}:
        in_cities |= Q(path__startswith=city_path)
    areas = Unit.objects.filter(in_cities, kind__in=(UnitKind.CITY, UnitKind.DISTRICT))
    form = OfferForm(
        request.POST or None,
        instance=offer,
        providers=providers,
        rules=OfferRule.objects.filter(period__in=periods),
        areas=areas.order_by("path"),
    )
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                saved = services.offer_save(
                    form.save(commit=False), stages=form.cleaned_data["stages"], actor=request.user
                )
        except REFUSALS as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("课程方案“%(title)s”已保存；请在课程管理中把课程归入本方案后提交立项") % {"title": saved.title},
            )
            return redirect("courses:offer_detail", pk=saved.pk)
    return render(request, "courses/offer_form.html", {"form": form, "offer": offer})


@login_required
def offer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    offer = get_visible_or_404(selectors.offers_visible_to(request.user), pk=pk)
    courses = list(offer.courses.prefetch_related("topics").order_by("code"))
    scope = scope_for(request.user)
    return render(
        request,
        "courses/offer_detail.html",
        {
            "offer": offer,
            "courses": courses,
            "total": fmt_hours(sum((c.hours for c in courses), 0)),
            "versions": list(offer.versions.order_by("-number")),
            "stages": list(offer.stages.all()),
            "may_submit": offer.is_editable and offer.provider_id in scope.provider_ids,
            "may_decide": offer.status == OfferStatus.SUBMITTED and services.offer_may_decide(offer, request.user),
            "reason_form": ReasonForm(),
        },
    )


@require_POST
@role_required(Role.PROVIDER)
def offer_submit(request: HttpRequest, pk: int) -> HttpResponse:
    offer = get_visible_or_404(selectors.offers_visible_to(request.user), pk=pk)
    try:
        services.offer_submit(offer, request.user, timezone.now())
    except services.OfferRefused as exc:
        messages.error(request, _("方案不符合本期规则，未提交："))
        for problem in exc.problems:
            messages.error(request, problem)
    except REFUSALS as exc:
        _refused(request, exc)
    else:
        messages.success(request, _("已提交立项"))
    return redirect("courses:offer_detail", pk=offer.pk)


@require_POST
@role_required(Role.DISTRICT_ADMIN, Role.CITY_ADMIN)
def offer_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve (action=approve) or return with a reason (action=return)."""
    offer = get_visible_or_404(selectors.offers_visible_to(request.user), pk=pk)
    form = ReasonForm(request.POST)
    form.is_valid()
    now = timezone.now()
    try:
        if request.POST.get("action") == "approve":
            services.offer_approve(offer, request.user, now, form.cleaned_data.get("reason", ""))
            messages.success(request, _("已立项：%(title)s") % {"title": offer.title})
        else:
            services.offer_return(offer, request.user, form.cleaned_data.get("reason", ""), now)
            messages.success(request, _("已退回：%(title)s") % {"title": offer.title})
    except REFUSALS as exc:
        _refused(request, exc)
    return redirect("courses:offer_detail", pk=offer.pk)


# --- late registrations and outcome compilations ---------------------------------------------------------


@role_required(Role.CITY_ADMIN)
@period_page
def late_registrations(request: HttpRequest) -> HttpResponse:
    """A city admin opens late registration of hours for a provider, with a reason (kept, shown here)."""
    periods = [
        p
        for p in selectors.periods_visible_to(request.user)
        if scope_for(request.user).reaches(p.city, roles=(Role.CITY_ADMIN,))
    ]
    period = _pick(request, periods)
    providers = selectors.providers_for_period(period)
    form = LateRegistrationForm(request.POST or None, providers=providers)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.late_registration_grant(
                period=period,
                provider=data["provider"],
                until=data["until"],
                reason=data["reason"],
                actor=request.user,
                now=timezone.now(),
            )
        except REFUSALS as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("已允许%(provider)s逾期登记") % {"provider": data["provider"].name})
            return redirect(f"{reverse('courses:late_registrations')}?period={period.pk}")
    grants = LateRegistration.objects.filter(period=period).select_related("provider")
    page = Paginator(grants, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "courses/late_registrations.html",
        {"period": period, "periods": periods, "form": form, "page": page, "querystring": _querystring(request)},
    )


@role_required(Role.PROVIDER, Role.CITY_ADMIN)
@period_page
def outcomes(request: HttpRequest) -> HttpResponse:
    """Providers upload their year's 优秀研修成果 compilation; the city lists and downloads them."""
    scope = scope_for(request.user)
    periods = selectors.offer_periods_visible_to(request.user) or selectors.partnership_periods_visible_to(request.user)
    period = _pick(request, periods)
    providers = Provider.objects.filter(pk__in=scope.provider_ids).order_by("code")
    form = OutcomeForm(request.POST or None, request.FILES or None, providers=providers) if scope.provider_ids else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.outcome_compilation_upload(
                    period=period,
                    provider=data["provider"],
                    title=data["title"],
                    file=data["file"],
                    actor=request.user,
                    now=timezone.now(),
                )
            except REFUSALS as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("已上传优秀研修成果汇编"))
                return redirect(f"{reverse('courses:outcomes')}?period={period.pk}")
    page = Paginator(_outcomes_visible(request).filter(period=period).select_related("provider"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "courses/outcomes.html",
        {"period": period, "periods": periods, "form": form, "page": page, "querystring": _querystring(request)},
    )


def _outcomes_visible(request: HttpRequest):
    scope = scope_for(request.user)
    q = Q(provider_id__in=scope.provider_ids)
    for path in scope.paths.get(Role.CITY_ADMIN, ()):
        q |= Q(period__city__path=path)
    return OutcomeCompilation.objects.filter(q)


@login_required
def outcome_document(request: HttpRequest, pk: int) -> HttpResponse:
    compilation = get_visible_or_404(_outcomes_visible(request).select_related("provider", "period"), pk=pk)
    return document_response(
        compilation.file, f"{compilation.provider.name}-{compilation.period.code}-优秀研修成果汇编"
    )
