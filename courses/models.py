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
        if errors:
            raise ValidationError(errors)


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
