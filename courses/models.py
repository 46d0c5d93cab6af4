"""Training periods, providers, courses, special programmes and quotas."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from credits.models import Category
from credits.rule_engine import fmt_hours
from portal.text import NameField
from portal.uploads import private_storage, private_upload_to


class Provider(models.Model):
    """A training provider (施教机构), serving the cities that list it (set by each city's admin)."""

    code = models.CharField(_("机构代码"), max_length=32, unique=True)
    name = NameField(_("机构名称"), max_length=100)
    cities = models.ManyToManyField(
        "portal.Unit",
        verbose_name=_("服务城市"),
        blank=True,
        related_name="providers",
        limit_choices_to={"kind": "city"},
    )
    contact_name = NameField(_("联系人"), max_length=50, blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=30, blank=True)
    contact_email = models.EmailField(_("联系邮箱"), blank=True)
    is_active = models.BooleanField(_("有效"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("施教机构")
        verbose_name_plural = _("施教机构")

    def __str__(self) -> str:
        return self.name


class ProviderStaff(models.Model):
    """A user who works for a provider: she sees only that provider's courses and learners."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="staff")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="provider_memberships")

    class Meta:
        verbose_name = _("机构工作人员")
        verbose_name_plural = _("机构工作人员")
        constraints = [models.UniqueConstraint(fields=["provider", "user"], name="provider_staff_unique")]

    def __str__(self) -> str:
        return f"{self.user} · {self.provider}"


class SelectionPhase(models.TextChoices):
    """Where a period's selection stands at a given moment (derived, never stored)."""

    BEFORE = "before", _("选课未开始")
    OPEN = "open", _("选课中")
    LATE = "late", _("补选中")
    CLOSED = "closed", _("选课已结束")


SELECTABLE_PHASES = (SelectionPhase.OPEN, SelectionPhase.LATE)


class SchoolProviderMode(models.TextChoices):
    """Whether a period's schools each choose their provider and file the agreement (Maoming 2024), and how many."""

    NONE = "none", _("不使用（教师直接在课程超市选课）")
    ONE = "one", _("每校选择一家施教机构")
    MANY = "many", _("每校可选择多家施教机构")


class TrainingPeriod(models.Model):
    """A city's training year (Guangzhou 2022: "2201期") with its windows.

    Whether a window is open is derived from these fields and the clock at
    request time; nothing stores an "open" flag that a job would have to flip.
    """

    city = models.ForeignKey(
        "portal.Unit", verbose_name=_("城市"), on_delete=models.PROTECT, related_name="training_periods"
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    code = models.CharField(_("期次代码"), max_length=20, unique=True)
    name = NameField(_("名称"), max_length=100)
    rule_set = models.ForeignKey(
        "credits.RuleSet",
        verbose_name=_("学时规则"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="periods",
    )
    selection_opens_at = models.DateTimeField(_("选课开始"))
    selection_closes_at = models.DateTimeField(_("选课截止"))
    late_opens_at = models.DateTimeField(_("补选开始"), null=True, blank=True)
    late_closes_at = models.DateTimeField(_("补选截止"), null=True, blank=True)
    drop_allowed_in_late = models.BooleanField(_("补选期间允许退课"), default=False)
    max_fee_per_hour = models.DecimalField(
        _("每学时收费上限（元）"),
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("留空表示不限；茂名 2024 为每人每学时 4 元"),
    )
    training_starts_on = models.DateField(_("培训开始"))
    training_ends_on = models.DateField(_("培训结束"))
    school_providers = models.CharField(
        _("学校选择施教机构"),
        max_length=8,
        choices=SchoolProviderMode.choices,
        default=SchoolProviderMode.NONE,
        help_text=_("茂名 2024：每校选择一家施教机构，签订协议并报县级教师发展中心备案"),
    )
    agreement_due_on = models.DateField(
        _("协议备案截止"),
        null=True,
        blank=True,
        help_text=_("此日仍未备案协议的学校会收到提醒，并列入区县的未备案名单"),
    )
    offers_required = models.BooleanField(
        _("课程须经立项"),
        default=False,
        help_text=_("开启后，施教机构的课程须随课程方案立项通过，才能选课和登记学时"),
    )

    class Meta:
        ordering = ["-year", "code"]
        verbose_name = _("培训周期")
        verbose_name_plural = _("培训周期")

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    def clean(self) -> None:
        errors = {}
        if self.selection_opens_at and self.selection_closes_at and self.selection_closes_at <= self.selection_opens_at:
            errors["selection_closes_at"] = _("选课截止时间必须晚于开始时间")
        if bool(self.late_opens_at) != bool(self.late_closes_at):
            errors["late_closes_at"] = _("补选开始和截止时间要么都填，要么都不填")
        elif self.late_opens_at and self.late_closes_at <= self.late_opens_at:
            errors["late_closes_at"] = _("补选截止时间必须晚于开始时间")
        if self.training_starts_on and self.training_ends_on and self.training_ends_on < self.training_starts_on:
            errors["training_ends_on"] = _("培训结束日期不能早于开始日期")
        if self.rule_set_id and self.city_id and self.rule_set.city_id != self.city_id:
            errors["rule_set"] = _("学时规则必须是本周期所在城市的规则")
        if errors:
            raise ValidationError(errors)

    def selection_phase(self, now) -> SelectionPhase:
        """closed / open / late at ``now``; the late window (补选) wins where it overlaps the main one."""
        if self.late_opens_at and self.late_closes_at and self.late_opens_at <= now < self.late_closes_at:
            return SelectionPhase.LATE
        if self.selection_opens_at <= now < self.selection_closes_at:
            return SelectionPhase.OPEN
        if now < self.selection_opens_at:
            return SelectionPhase.BEFORE
        return SelectionPhase.CLOSED

    def is_selection_open(self, now) -> bool:
        return self.selection_phase(now) in SELECTABLE_PHASES

    def can_drop(self, now) -> bool:
        phase = self.selection_phase(now)
        return phase == SelectionPhase.OPEN or (phase == SelectionPhase.LATE and self.drop_allowed_in_late)

    @property
    def selection_window_end(self):
        """The last moment anything may be selected (the later of the two windows' ends)."""
        return max(filter(None, (self.selection_closes_at, self.late_closes_at)))

    def accepts_training_date(self, day) -> bool:
        """Whether results and attendance may be registered on ``day`` (a local date): within the training dates."""
        return self.training_starts_on <= day <= self.training_ends_on

    def training_dates_refusal(self, day) -> str | None:
        """Why nothing may be registered on ``day`` (a sentence naming the dates), or None within them."""
        if self.accepts_training_date(day):
            return None
        return _(
            "“%(period)s”的培训日期为 %(a)s 至 %(b)s，%(day)s 不在其内；逾期登记须由市级管理员填写原因后受理。"
        ) % {
            "period": self.name,
            "a": f"{self.training_starts_on:%Y-%m-%d}",
            "b": f"{self.training_ends_on:%Y-%m-%d}",
            "day": f"{day:%Y-%m-%d}",
        }

    @property
    def uses_school_providers(self) -> bool:
        return self.school_providers != SchoolProviderMode.NONE

    @property
    def one_provider_per_school(self) -> bool:
        return self.school_providers == SchoolProviderMode.ONE

    def kinds_required_for(self, category: str) -> list:
        """The kinds (credits.CreditKind) the period's rule tells apart within ``category``; [] if it does not.

        A course of that category must then carry one of them, or its hours count toward none of the rule's lines.
        """
        from credits.models import CreditKind
        from credits.rule_engine import columns_needed

        if self.rule_set is None:
            return []
        codes = [c.code for c in columns_needed(self.rule_set.tree) if c.dimension == "kind"]
        if not codes:
            return []
        by_code = {k.code: k for k in CreditKind.objects.filter(code__in=codes, category=category)}
        return [by_code[code] for code in codes if code in by_code]


class CourseMode(models.TextChoices):
    ONLINE = "online", _("线上")
    OFFLINE = "offline", _("线下")
    MIXED = "mixed", _("混合")


class CourseStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PUBLISHED = "published", _("已发布")


class Course(models.Model):
    """A course offered in a period's 课程超市.

    ``enrolled_count`` is the number of live selections; it is only changed by
    courses.services while the course row is locked, and the database refuses
    any value above ``capacity`` (the last line of defence against overselling).
    """

    period = models.ForeignKey(
        TrainingPeriod, verbose_name=_("培训周期"), on_delete=models.PROTECT, related_name="courses"
    )
    code = models.CharField(_("课程代码"), max_length=32)
    title = NameField(_("课程名称"), max_length=200)
    category = models.CharField(_("科目类别"), max_length=20, choices=Category.choices)
    kind = models.ForeignKey(
        "credits.CreditKind",
        verbose_name=_("学时类型"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    hours = models.DecimalField(
        _("学时"), max_digits=5, decimal_places=1, validators=[MinValueValidator(Decimal("0.5"))]
    )
    topics = models.ManyToManyField("credits.Topic", verbose_name=_("专题"), blank=True, related_name="courses")
    provider = models.ForeignKey(Provider, verbose_name=_("施教机构"), on_delete=models.PROTECT, related_name="courses")
    mode = models.CharField(_("形式"), max_length=10, choices=CourseMode.choices, default=CourseMode.ONLINE)
    stages = models.ManyToManyField("portal.Stage", verbose_name=_("面向学段"), blank=True, related_name="+")
    capacity = models.PositiveIntegerField(_("名额"), null=True, blank=True, help_text=_("留空表示不限名额"))
    fee_per_hour = models.DecimalField(
        _("每学时收费（元）"),
        max_digits=7,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    description = models.TextField(_("课程简介"), blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=CourseStatus.choices, default=CourseStatus.DRAFT)
    offer = models.ForeignKey(
        "CourseOffer",
        verbose_name=_("课程方案"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="courses",
        help_text=_("须立项的周期：课程随所属方案立项通过后才能选课和登记学时"),
    )
    enrolled_count = models.PositiveIntegerField(_("已选人数"), default=0, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        ordering = ["period", "code"]
        verbose_name = _("课程")
        verbose_name_plural = _("课程")
        constraints = [
            models.UniqueConstraint(fields=["period", "code"], name="course_period_code_unique"),
            models.CheckConstraint(
                condition=Q(capacity__isnull=True) | Q(enrolled_count__lte=F("capacity")),
                name="course_not_oversold",
            ),
        ]
        indexes = [models.Index(fields=["period", "status", "category"], name="course_catalogue")]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    @property
    def is_full(self) -> bool:
        return self.capacity is not None and self.enrolled_count >= self.capacity

    @property
    def fill_rate(self) -> float | None:
        return None if not self.capacity else self.enrolled_count / self.capacity

    @property
    def has_sessions(self) -> bool:
        return self.mode != CourseMode.ONLINE

    def clean(self) -> None:
        errors = {}
        if self.period_id and self.period.max_fee_per_hour is not None and self.fee_per_hour is not None:
            if self.fee_per_hour > self.period.max_fee_per_hour:
                errors["fee_per_hour"] = _("每学时收费 %(fee)s 元超过本周期上限 %(max)s 元") % {
                    "fee": fmt_hours(self.fee_per_hour),
                    "max": fmt_hours(self.period.max_fee_per_hour),
                }
        if self.kind_id and self.category and self.kind.category != self.category:
            errors["kind"] = _("学时类型“%(kind)s”属于%(cat)s，与课程的科目类别不一致") % {
                "kind": self.kind.name,
                "cat": Category(self.kind.category).label,
            }
        if self.capacity is not None and self.pk and self.capacity < self.enrolled_count:
            errors["capacity"] = _("已有 %(n)d 人选课，名额不能少于已选人数") % {"n": self.enrolled_count}
        if self.period_id and self.category and not self.kind_id and "kind" not in errors:
            kinds = self.period.kinds_required_for(self.category)
            if kinds:
                errors["kind"] = kind_missing_message(self.category, kinds)
        if errors:
            raise ValidationError(errors)


def kind_missing_message(category: str, kinds) -> str:
    return _("本期学时规则按学时类型计算%(cat)s，请选择学时类型（%(kinds)s），否则学时不计入任何一项要求") % {
        "cat": Category(category).label,
        "kinds": "、".join(k.name for k in kinds),
    }


class CourseSession(models.Model):
    """One meeting of an offline or mixed course."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="sessions")
    date = models.DateField(_("日期"))
    starts_at = models.TimeField(_("开始时间"))
    ends_at = models.TimeField(_("结束时间"))
    place = models.CharField(_("地点"), max_length=200)

    class Meta:
        ordering = ["date", "starts_at"]
        verbose_name = _("线下课次")
        verbose_name_plural = _("线下课次")
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="session_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.starts_at:%H:%M}–{self.ends_at:%H:%M} {self.place}"

    def clean(self) -> None:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": _("结束时间必须晚于开始时间")})


class SelectionStatus(models.TextChoices):
    SELECTED = "selected", _("已选")
    COMPLETED = "completed", _("已完成")
    DROPPED = "dropped", _("已退选")


LIVE_SELECTION_STATES = (SelectionStatus.SELECTED, SelectionStatus.COMPLETED)


class CourseSelection(models.Model):
    """A teacher's selection of a course (选课). Dropped rows stay as history."""

    teacher = models.ForeignKey(
        "portal.Teacher", verbose_name=_("教师"), on_delete=models.PROTECT, related_name="course_selections"
    )
    course = models.ForeignKey(Course, verbose_name=_("课程"), on_delete=models.PROTECT, related_name="selections")
    period = models.ForeignKey(TrainingPeriod, verbose_name=_("培训周期"), on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        _("状态"), max_length=10, choices=SelectionStatus.choices, default=SelectionStatus.SELECTED
    )
    from_waitlist = models.BooleanField(_("候补转入"), default=False)
    selected_at = models.DateTimeField(_("选课时间"))
    dropped_at = models.DateTimeField(_("退选时间"), null=True, blank=True)
    completed_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-selected_at", "-id"]
        verbose_name = _("选课记录")
        verbose_name_plural = _("选课记录")
        constraints = [
            models.UniqueConstraint(
                fields=["teacher", "course"],
                name="selection_once_per_course",
                condition=Q(status__in=["selected", "completed"]),
            ),
        ]
        indexes = [models.Index(fields=["period", "teacher", "status"], name="selection_teacher_period")]

    def __str__(self) -> str:
        return f"{self.teacher} · {self.course}"


def ledger_reference(selection_id: int) -> str:
    """The reference of the ledger entry a completed selection earns, which makes recording it idempotent.

    Stored as "enrollment:<id>" since the first entries, before the model was called CourseSelection:
    the ledger is append-only, so the prefix stays.
    """
    return f"enrollment:{selection_id}"


class WaitlistStatus(models.TextChoices):
    WAITING = "waiting", _("候补中")
    PROMOTED = "promoted", _("已转正")
    LEFT = "left", _("已退出")
    RELEASED = "released", _("已释放")


class WaitlistEntry(models.Model):
    """A place in a full course's waiting list; first come, first served."""

    teacher = models.ForeignKey(
        "portal.Teacher", verbose_name=_("教师"), on_delete=models.PROTECT, related_name="course_waitlist"
    )
    course = models.ForeignKey(Course, verbose_name=_("课程"), on_delete=models.PROTECT, related_name="waitlist")
    status = models.CharField(_("状态"), max_length=10, choices=WaitlistStatus.choices, default=WaitlistStatus.WAITING)
    created_at = models.DateTimeField(_("登记时间"))
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("候补登记")
        verbose_name_plural = _("候补登记")
        constraints = [
            models.UniqueConstraint(
                fields=["teacher", "course"], name="waitlist_once_per_course", condition=Q(status="waiting")
            ),
        ]
        indexes = [models.Index(fields=["course", "status", "created_at"], name="waitlist_queue")]

    def __str__(self) -> str:
        return f"{self.teacher} · {self.course}（{self.get_status_display()}）"


# --- attendance, leave and no-shows (无故未参训) ------------------------------------------------------------------
#
# Offline course sessions (CourseSession) and special programmes' sessions (enrollment.ProgrammeSession) take
# attendance the same way: a row names its session by kind and id (courses.sessions registers the kinds; the
# programme kind is registered by enrollment, which builds on courses).


class SessionKind(models.TextChoices):
    COURSE = "course", _("课程课次")
    PROGRAMME = "programme", _("专项培训课次")


class AttendanceStatus(models.TextChoices):
    PRESENT = "present", _("出勤")
    ABSENT = "absent", _("无故未参训")
    EXCUSED = "excused", _("请假")


class Attendance(models.Model):
    """A registered teacher's attendance at one session; ``absent`` (without approved leave) is a no-show.

    ``school``, ``period`` and ``session_date`` are copied when marked, so statistics and the
    consequences of a no-show are indexed filters without joining the session's own table.
    """

    session_kind = models.CharField(_("课次类型"), max_length=10, choices=SessionKind.choices)
    session_id = models.PositiveBigIntegerField(_("课次"))
    teacher = models.ForeignKey(
        "portal.Teacher", verbose_name=_("教师"), on_delete=models.PROTECT, related_name="attendances"
    )
    school = models.ForeignKey("portal.Unit", verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+")
    period = models.ForeignKey(TrainingPeriod, verbose_name=_("培训周期"), on_delete=models.PROTECT, related_name="+")
    session_date = models.DateField(_("课次日期"))
    status = models.CharField(_("考勤"), max_length=10, choices=AttendanceStatus.choices)
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    marked_at = models.DateTimeField(_("登记时间"))

    class Meta:
        ordering = ["-session_date", "id"]
        verbose_name = _("考勤")
        verbose_name_plural = _("考勤")
        constraints = [
            models.UniqueConstraint(fields=["session_kind", "session_id", "teacher"], name="attendance_once"),
        ]
        indexes = [
            models.Index(fields=["teacher", "status", "session_date"], name="attendance_teacher_status"),
            models.Index(fields=["school", "status"], name="attendance_school_status"),
        ]

    def __str__(self) -> str:
        return f"{self.teacher} · {self.session_date:%Y-%m-%d} · {self.get_status_display()}"


class LeaveState(models.TextChoices):
    REQUESTED = "requested", _("待批准")
    APPROVED = "approved", _("已批准")
    REFUSED = "refused", _("未批准")


class LeaveRequest(models.Model):
    """A teacher's request for leave (请假) from one session, decided by her school admin."""

    session_kind = models.CharField(_("课次类型"), max_length=10, choices=SessionKind.choices)
    session_id = models.PositiveBigIntegerField(_("课次"))
    teacher = models.ForeignKey(
        "portal.Teacher", verbose_name=_("教师"), on_delete=models.PROTECT, related_name="leave_requests"
    )
    school = models.ForeignKey("portal.Unit", verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+")
    session_title = models.CharField(_("课次"), max_length=200)
    session_starts_at = models.DateTimeField(_("课次开始"))
    reason = models.TextField(_("请假原因"))
    state = models.CharField(_("状态"), max_length=10, choices=LeaveState.choices, default=LeaveState.REQUESTED)
    requested_at = models.DateTimeField(_("申请时间"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decision_note = models.CharField(_("审批意见"), max_length=200, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("请假")
        verbose_name_plural = _("请假")
        constraints = [
            models.UniqueConstraint(fields=["session_kind", "session_id", "teacher"], name="leave_once_per_session"),
        ]
        indexes = [models.Index(fields=["school", "state"], name="leave_school_state")]

    def __str__(self) -> str:
        return f"{self.teacher} · {self.session_title} · {self.get_state_display()}"


class NoShowPolicy(models.Model):
    """What follows a no-show (无故未参训) in a city: data, enforced at request time."""

    city = models.OneToOneField(
        "portal.Unit",
        verbose_name=_("城市"),
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind": "city"},
    )
    withhold_session_hours = models.BooleanField(
        _("不计该课次学时"), default=True, help_text=_("按缺席课次占全部课次的比例扣减课程学时")
    )
    programme_ban_months = models.PositiveSmallIntegerField(
        _("几个月内不能报名专项培训"), default=0, help_text=_("0 表示不限制")
    )
    count_in_statistics = models.BooleanField(_("计入学校统计"), default=True)

    class Meta:
        verbose_name = _("无故未参训处理规则")
        verbose_name_plural = _("无故未参训处理规则")

    def __str__(self) -> str:
        return str(self.city)


# --- the school–provider model (Maoming 2024): offers and their approval, schools' agreements ----------
#
# All of it is switched on per period (``TrainingPeriod.school_providers``, ``offers_required``) and
# configured as data (offer rules, the stage → approving level mapping, who pays which category), so a
# city with the same model needs no code and a period that does not use it (Guangzhou) is unaffected.


class Payer(models.TextChoices):
    PROVINCE = "province", _("省级财政")
    CITY = "city", _("市级财政")
    COUNTY = "county", _("县级财政")
    EMPLOYER = "employer", _("任职单位（学校）")
    TEACHER = "teacher", _("教师个人")


class FeePayer(models.Model):
    """Who pays a category's training fees in a period (Guangzhou 2022: 公需 the province, 专业/选修 the employer).

    A category without a row is paid by the employer, as Maoming 2024's notice has it for all of them.
    """

    period = models.ForeignKey(TrainingPeriod, on_delete=models.CASCADE, related_name="fee_payers")
    category = models.CharField(_("科目类别"), max_length=20, choices=Category.choices)
    payer = models.CharField(_("费用承担"), max_length=10, choices=Payer.choices)

    class Meta:
        ordering = ["period", "category"]
        verbose_name = _("培训费用承担")
        verbose_name_plural = _("培训费用承担")
        constraints = [models.UniqueConstraint(fields=["period", "category"], name="fee_payer_unique")]

    def __str__(self) -> str:
        return f"{self.get_category_display()} · {self.get_payer_display()}"


class ApprovalLevel(models.TextChoices):
    """Who approves (立项) an offer: the county-level education bureau or the city's."""

    DISTRICT = "district", _("县级教育行政部门")
    CITY = "city", _("市教育局")


APPROVAL_RANK = {ApprovalLevel.DISTRICT: 1, ApprovalLevel.CITY: 2}


class OfferRule(models.Model):
    """What a provider's offer of one kind must be in a period, and who approves it (立项).

    Maoming 2024: ordinary remote courses (普通远程培训课程) on a three-year plan, 师德师风 every year,
    ≥ 42 hours, approved by the city; rotation online training (全员轮训网络研修) from the nine modules,
    ≥ 60 hours, approved by the county for compulsory-education teachers and by the city for senior-high
    ones (``OfferStageLevel``).
    """

    period = models.ForeignKey(
        TrainingPeriod, verbose_name=_("培训周期"), on_delete=models.CASCADE, related_name="offer_rules"
    )
    kind = models.ForeignKey(
        "credits.CreditKind", verbose_name=_("学时类型"), on_delete=models.PROTECT, related_name="+"
    )
    min_hours = models.DecimalField(
        _("最少学时"), max_digits=5, decimal_places=1, validators=[MinValueValidator(Decimal("0.5"))]
    )
    required_topics = models.ManyToManyField(
        "credits.Topic", verbose_name=_("每年必含专题"), blank=True, related_name="+"
    )
    allowed_topics = models.ManyToManyField(
        "credits.Topic",
        verbose_name=_("可用专题模块"),
        blank=True,
        related_name="+",
        help_text=_("留空表示不限；全员轮训网络研修为九个专题模块"),
    )
    plan_years = models.PositiveSmallIntegerField(
        _("规划年数"), null=True, blank=True, help_text=_("如 3：方案须注明是三年规划的第几年；留空表示不按规划")
    )
    default_level = models.CharField(
        _("立项层级"),
        max_length=10,
        choices=ApprovalLevel.choices,
        default=ApprovalLevel.CITY,
        help_text=_("下方未列出的学段由此层级立项"),
    )

    class Meta:
        ordering = ["period", "id"]
        verbose_name = _("立项规则")
        verbose_name_plural = _("立项规则")
        constraints = [models.UniqueConstraint(fields=["period", "kind"], name="offer_rule_period_kind_unique")]

    def __str__(self) -> str:
        return f"{self.period.code} · {self.kind.name}"

    def level_for(self, stage_ids) -> ApprovalLevel:
        """The level that approves an offer serving ``stage_ids`` (none: every stage): the highest they map to.

        Reads ``stage_levels`` (prefetch it to save the query).
        """
        mapping = {row.stage_id: row.level for row in self.stage_levels.all()}
        stage_ids = list(stage_ids)
        levels = (
            [mapping.get(pk, self.default_level) for pk in stage_ids]
            if stage_ids
            else [
                self.default_level,
                *mapping.values(),
            ]
        )
        return ApprovalLevel(max(levels, key=lambda level: APPROVAL_RANK[ApprovalLevel(level)]))


class OfferStageLevel(models.Model):
    """One line of the mapping "an offer serving this stage is approved at this level" (小学/初中 → 县级)."""

    rule = models.ForeignKey(OfferRule, on_delete=models.CASCADE, related_name="stage_levels")
    stage = models.ForeignKey("portal.Stage", verbose_name=_("学段"), on_delete=models.PROTECT, related_name="+")
    level = models.CharField(_("立项层级"), max_length=10, choices=ApprovalLevel.choices)

    class Meta:
        ordering = ["rule", "stage__order"]
        verbose_name = _("学段立项层级")
        verbose_name_plural = _("学段立项层级")
        constraints = [models.UniqueConstraint(fields=["rule", "stage"], name="offer_stage_level_unique")]

    def __str__(self) -> str:
        return f"{self.stage} → {self.get_level_display()}"


class OfferStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("待立项")
    APPROVED = "approved", _("已立项")
    RETURNED = "returned", _("已退回")


OFFER_EDITABLE_STATES = (OfferStatus.DRAFT, OfferStatus.RETURNED)
OFFER_LOCKED_STATES = (OfferStatus.SUBMITTED, OfferStatus.APPROVED)


class CourseOffer(models.Model):
    """A provider's offer for a period (课程方案): the courses pointing at it, approved (立项) as one.

    Nothing in it can be selected or earn hours before it is approved. ``area`` is the city or the
    one county it serves; ``approval_level`` and ``approver`` are fixed when it is submitted, from the
    rule's stage mapping. Every submission is kept as an ``OfferVersion``.
    """

    provider = models.ForeignKey(Provider, verbose_name=_("施教机构"), on_delete=models.PROTECT, related_name="offers")
    period = models.ForeignKey(
        TrainingPeriod, verbose_name=_("培训周期"), on_delete=models.PROTECT, related_name="offers"
    )
    rule = models.ForeignKey(OfferRule, verbose_name=_("课程类别"), on_delete=models.PROTECT, related_name="offers")
    title = models.CharField(_("方案名称"), max_length=200)
    plan_year = models.PositiveSmallIntegerField(_("规划年度"), null=True, blank=True, help_text=_("三年规划的第几年"))
    stages = models.ManyToManyField(
        "portal.Stage", verbose_name=_("面向学段"), blank=True, related_name="+", help_text=_("留空表示面向全部学段")
    )
    area = models.ForeignKey(
        "portal.Unit",
        verbose_name=_("面向区域"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("全市，或一个区县（义务教育阶段的全员轮训项目由该区县立项）"),
    )
    status = models.CharField(_("状态"), max_length=10, choices=OfferStatus.choices, default=OfferStatus.DRAFT)
    approval_level = models.CharField(_("立项层级"), max_length=10, choices=ApprovalLevel.choices, blank=True)
    approver = models.ForeignKey(
        "portal.Unit", verbose_name=_("立项单位"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)

    class Meta:
        ordering = ["-period__year", "provider__code", "id"]
        verbose_name = _("课程方案")
        verbose_name_plural = _("课程方案")
        indexes = [models.Index(fields=["period", "status"], name="offer_period_status")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_editable(self) -> bool:
        return self.status in OFFER_EDITABLE_STATES


class OfferVersion(models.Model):
    """One submission of an offer, as it was then, and the decision on it: written once, never changed.

    The decision fields are filled by one conditional update (only while empty), so they record
    who approved or returned it, when and why.
    """

    offer = models.ForeignKey(CourseOffer, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveSmallIntegerField(_("版本"))
    content = models.JSONField(_("方案内容"))
    total_hours = models.DecimalField(_("总学时"), max_digits=7, decimal_places=1)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_by_name = models.CharField(_("提交人"), max_length=50)
    submitted_at = models.DateTimeField(_("提交时间"))
    decision = models.CharField(
        _("审批结果"),
        max_length=10,
        blank=True,
        choices=[
            (OfferStatus.APPROVED.value, OfferStatus.APPROVED.label),
            (OfferStatus.RETURNED.value, OfferStatus.RETURNED.label),
        ],
    )
    reason = models.TextField(_("意见"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_by_name = models.CharField(_("审批人"), max_length=50, blank=True)
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)

    class Meta:
        ordering = ["offer", "-number"]
        verbose_name = _("课程方案版本")
        verbose_name_plural = _("课程方案版本")
        constraints = [models.UniqueConstraint(fields=["offer", "number"], name="offer_version_unique")]

    def __str__(self) -> str:
        return f"{self.offer} v{self.number}"


class AgreementState(models.TextChoices):
    CHOSEN = "chosen", _("待上传协议")
    PENDING = "pending", _("待备案")
    FILED = "filed", _("已备案")
    RETURNED = "returned", _("已退回")
    CANCELLED = "cancelled", _("已更换")


LIVE_AGREEMENT_STATES = (AgreementState.CHOSEN, AgreementState.PENDING, AgreementState.FILED, AgreementState.RETURNED)
UPLOADABLE_AGREEMENT_STATES = (AgreementState.CHOSEN, AgreementState.RETURNED)


def _agreement_upload_to(instance, filename: str) -> str:
    return private_upload_to("agreements")(instance, filename)


def _outcome_upload_to(instance, filename: str) -> str:
    return private_upload_to("outcomes")(instance, filename)


class Agreement(models.Model):
    """A school's choice of a provider for a period: the agreed fee and the signed agreement's filing (备案).

    ``filing_unit`` is the county-level center that files it, or the city for schools directly under it
    (局直属). The signed PDFs are the ``versions``; a school that changes provider before filing leaves
    this row cancelled, as history.
    """

    period = models.ForeignKey(
        TrainingPeriod, verbose_name=_("培训周期"), on_delete=models.PROTECT, related_name="agreements"
    )
    school = models.ForeignKey("portal.Unit", verbose_name=_("学校"), on_delete=models.PROTECT, related_name="+")
    provider = models.ForeignKey(
        Provider, verbose_name=_("施教机构"), on_delete=models.PROTECT, related_name="agreements"
    )
    fee_per_hour = models.DecimalField(_("每人每学时收费（元）"), max_digits=7, decimal_places=2, null=True, blank=True)
    state = models.CharField(_("状态"), max_length=10, choices=AgreementState.choices, default=AgreementState.CHOSEN)
    filing_unit = models.ForeignKey(
        "portal.Unit", verbose_name=_("备案单位"), on_delete=models.PROTECT, related_name="+"
    )
    chosen_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    chosen_at = models.DateTimeField(_("选择时间"))
    updated_at = models.DateTimeField(_("更新时间"))

    class Meta:
        ordering = ["period", "school__path", "id"]
        verbose_name = _("合作协议")
        verbose_name_plural = _("合作协议")
        constraints = [
            models.UniqueConstraint(
                fields=["period", "school", "provider"],
                name="agreement_live_once",
                condition=~Q(state="cancelled"),
            ),
        ]
        indexes = [models.Index(fields=["period", "state"], name="agreement_period_state")]

    def __str__(self) -> str:
        return f"{self.school} · {self.provider}"

    @property
    def is_live(self) -> bool:
        return self.state in LIVE_AGREEMENT_STATES


class AgreementVersion(models.Model):
    """One uploaded signed agreement (PDF) and the filing decision on it: every version is kept."""

    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveSmallIntegerField(_("版本"))
    file = models.FileField(_("协议书（PDF）"), storage=private_storage, upload_to=_agreement_upload_to)
    fee_per_hour = models.DecimalField(_("每人每学时收费（元）"), max_digits=7, decimal_places=2)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_by_name = models.CharField(_("上传人"), max_length=50)
    uploaded_at = models.DateTimeField(_("上传时间"))
    decision = models.CharField(
        _("备案结果"),
        max_length=10,
        blank=True,
        choices=[
            (AgreementState.FILED.value, AgreementState.FILED.label),
            (AgreementState.RETURNED.value, AgreementState.RETURNED.label),
        ],
    )
    reason = models.TextField(_("意见"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_by_name = models.CharField(_("备案人"), max_length=50, blank=True)
    decided_at = models.DateTimeField(_("备案时间"), null=True, blank=True)

    class Meta:
        ordering = ["agreement", "-number"]
        verbose_name = _("协议书版本")
        verbose_name_plural = _("协议书版本")
        constraints = [models.UniqueConstraint(fields=["agreement", "number"], name="agreement_version_unique")]

    def __str__(self) -> str:
        return f"{self.agreement} v{self.number}"


class ParticipantFormSend(models.Model):
    """The participant information form (学员信息采集表) a school sent its provider: who was on it, and when.

    The provider sees the teachers of the school's latest send, in the portal instead of by e-mail.
    """

    period = models.ForeignKey(TrainingPeriod, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey("portal.Unit", on_delete=models.PROTECT, related_name="+")
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="participant_forms")
    teachers = models.ManyToManyField("portal.Teacher", related_name="+")
    count = models.PositiveIntegerField(_("人数"))
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    sent_by_name = models.CharField(_("发送人"), max_length=50)
    sent_at = models.DateTimeField(_("发送时间"))

    class Meta:
        ordering = ["-sent_at", "-id"]
        verbose_name = _("学员信息采集表发送记录")
        verbose_name_plural = _("学员信息采集表发送记录")
        indexes = [models.Index(fields=["period", "school", "provider", "-sent_at"], name="participant_form_latest")]

    def __str__(self) -> str:
        return f"{self.school} → {self.provider} · {self.count}"


class LateRegistration(models.Model):
    """A city admin's permission, with its reason, for a provider to register hours after the training ended.

    Written once; the entries it lets in name it in their reason.
    """

    period = models.ForeignKey(TrainingPeriod, verbose_name=_("培训周期"), on_delete=models.PROTECT, related_name="+")
    provider = models.ForeignKey(Provider, verbose_name=_("施教机构"), on_delete=models.PROTECT, related_name="+")
    until = models.DateField(_("允许登记至"))
    reason = models.TextField(_("原因"))
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    granted_by_name = models.CharField(_("批准人"), max_length=50)
    granted_at = models.DateTimeField(_("批准时间"))

    class Meta:
        ordering = ["-granted_at", "-id"]
        verbose_name = _("逾期登记许可")
        verbose_name_plural = _("逾期登记许可")

    def __str__(self) -> str:
        return f"{self.provider} · {self.until:%Y-%m-%d}"


class OutcomeCompilation(models.Model):
    """A provider's compilation of its learners' outstanding work (优秀研修成果汇编, PDF) for the city."""

    period = models.ForeignKey(TrainingPeriod, verbose_name=_("培训周期"), on_delete=models.PROTECT, related_name="+")
    provider = models.ForeignKey(Provider, verbose_name=_("施教机构"), on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("名称"), max_length=200)
    file = models.FileField(_("汇编（PDF）"), storage=private_storage, upload_to=_outcome_upload_to)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_by_name = models.CharField(_("上传人"), max_length=50)
    uploaded_at = models.DateTimeField(_("上传时间"))

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        verbose_name = _("优秀研修成果汇编")
        verbose_name_plural = _("优秀研修成果汇编")

    def __str__(self) -> str:
        return self.title
