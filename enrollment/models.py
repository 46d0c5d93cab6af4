"""Special programmes (专项培训): who may apply, the quota table, the chain of
approval levels (as data), applications and their immutable audit log.

A programme's chain is a list of ``ProgrammeLevel`` rows (school → district →
city in Guangzhou; school → county in a Maoming compulsory-education rotation
project); nothing in code knows how many levels there are.
"""

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.models import Position, Role, UnitKind
from portal.text import NameField

LEVEL_KINDS = (UnitKind.SCHOOL, UnitKind.DISTRICT, UnitKind.CITY)
LEVEL_KIND_RANK = {UnitKind.SCHOOL: 1, UnitKind.DISTRICT: 2, UnitKind.CITY: 3}
LEVEL_ROLE = {
    UnitKind.SCHOOL: Role.SCHOOL_ADMIN,
    UnitKind.DISTRICT: Role.DISTRICT_ADMIN,
    UnitKind.CITY: Role.CITY_ADMIN,
}


class Programme(models.Model):
    """A special programme of a training period, e.g. 中学(中职)校长任职资格培训."""

    period = models.ForeignKey(
        "courses.TrainingPeriod", verbose_name=_("培训周期"), on_delete=models.PROTECT, related_name="programmes"
    )
    title = NameField(_("项目名称"), max_length=120)
    description = models.TextField(_("项目简介"), blank=True)
    eligible_stages = models.ManyToManyField(
        "portal.Stage",
        verbose_name=_("限定学段"),
        blank=True,
        related_name="+",
        help_text=_("留空表示不限学段"),
    )
    eligible_positions = models.JSONField(
        _("限定职务"), default=list, blank=True, help_text=_("留空表示不限职务（任何在职教师均可报名）")
    )
    total_seats = models.PositiveIntegerField(_("总名额"))
    registration_opens_at = models.DateTimeField(_("报名开始"))
    registration_closes_at = models.DateTimeField(_("报名截止"))
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta:
        ordering = ["-registration_opens_at", "id"]
        verbose_name = _("专项培训项目")
        verbose_name_plural = _("专项培训项目")

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        if self.registration_opens_at and self.registration_closes_at:
            if self.registration_closes_at <= self.registration_opens_at:
                raise ValidationError({"registration_closes_at": _("报名截止时间必须晚于报名开始时间")})
        unknown = set(self.eligible_positions or []) - set(Position.values)
        if unknown:
            raise ValidationError({"eligible_positions": _("未知职务：%(v)s") % {"v": "、".join(sorted(unknown))}})

    def registration_open(self, now: dt.datetime) -> bool:
        return self.registration_opens_at <= now <= self.registration_closes_at

    @property
    def position_labels(self) -> list[str]:
        return [str(Position(p).label) for p in self.eligible_positions or [] if p in Position.values]


class ProgrammeLevel(models.Model):
    """One step of a programme's approval chain: who decides (unit kind) and until when."""

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="levels")
    order = models.PositiveSmallIntegerField(_("顺序"))
    unit_kind = models.CharField(_("审核层级"), max_length=10, choices=[(k.value, k.label) for k in LEVEL_KINDS])
    deadline = models.DateTimeField(_("审核截止"), help_text=_("截止时刻（含），过后该级未处理的申请即失效"))

    class Meta:
        ordering = ["programme", "order"]
        verbose_name = _("审核层级")
        verbose_name_plural = _("审核层级")
        constraints = [
            models.UniqueConstraint(fields=["programme", "order"], name="programme_level_order_unique"),
            models.UniqueConstraint(fields=["programme", "unit_kind"], name="programme_level_kind_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_unit_kind_display()}{_('审核')}"

    @property
    def role(self) -> Role:
        return LEVEL_ROLE[UnitKind(self.unit_kind)]

    @property
    def label(self) -> str:
        return {
            UnitKind.SCHOOL: _("学校审核"),
            UnitKind.DISTRICT: _("区级审核"),
            UnitKind.CITY: _("市级审定"),
        }[UnitKind(self.unit_kind)]


class Quota(models.Model):
    """One row of the quota table (名额分配表): seats of one district (or of the city's own units).

    ``reopened_until`` lets the city give one district more time at the quota
    level after that level's deadline.
    """

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="quotas")
    district = models.ForeignKey(
        "portal.Unit",
        verbose_name=_("区（县）"),
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind__in": (UnitKind.DISTRICT, UnitKind.CITY)},
    )
    seats = models.PositiveIntegerField(_("名额"))
    reopened_until = models.DateTimeField(_("延长审核至"), null=True, blank=True)

    class Meta:
        ordering = ["programme", "district__path"]
        verbose_name = _("名额分配")
        verbose_name_plural = _("名额分配表")
        constraints = [models.UniqueConstraint(fields=["programme", "district"], name="quota_unique")]

    def __str__(self) -> str:
        return f"{self.district} · {self.seats}"


class ApplicationState(models.TextChoices):
    SUBMITTED = "submitted", _("已提交")
    APPROVED = "approved", _("审核中")  # approved at a level, waiting at the next one (``level``)
    FINALIZED = "finalized", _("已审定")
    REJECTED = "rejected", _("未通过")
    WITHDRAWN = "withdrawn", _("已撤回")
    EXPIRED = "expired", _("已逾期")


PENDING_STATES = (ApplicationState.SUBMITTED, ApplicationState.APPROVED)
FINAL_STATES = (
    ApplicationState.FINALIZED,
    ApplicationState.REJECTED,
    ApplicationState.WITHDRAWN,
    ApplicationState.EXPIRED,
)


class ApplicationQuerySet(models.QuerySet["Application"]):
    def pending(self, now: dt.datetime):
        """Waiting for a decision that can still be taken (deadline not passed)."""
        return self.filter(state__in=PENDING_STATES, deadline__gte=now)

    def effectively_expired(self, now: dt.datetime):
        return self.filter(Q(state=ApplicationState.EXPIRED) | Q(state__in=PENDING_STATES, deadline__lt=now))

    def with_effective_state(self, now: dt.datetime):
        """Annotate ``effective_state``: a pending application past its level's deadline is expired, job or not."""
        return self.annotate(
            effective_state=models.Case(
                models.When(Q(state__in=PENDING_STATES, deadline__lt=now), then=models.Value(ApplicationState.EXPIRED)),
                default=models.F("state"),
                output_field=models.CharField(),
            )
        )

    def in_effective_state(self, states, now: dt.datetime):
        states = set(states)
        q = Q(pk__in=[])
        live = states & set(PENDING_STATES)
        if live:
            q |= Q(state__in=live, deadline__gte=now)
        if ApplicationState.EXPIRED in states:
            q |= Q(state=ApplicationState.EXPIRED) | Q(state__in=PENDING_STATES, deadline__lt=now)
        other = states - set(PENDING_STATES) - {ApplicationState.EXPIRED}
        if other:
            q |= Q(state__in=other)
        return self.filter(q)


def effective_state(state: str, deadline: dt.datetime, now: dt.datetime) -> ApplicationState:
    """An application's state as shown: waiting past its level's deadline is expired, swept or not."""
    if state in PENDING_STATES and deadline < now:
        return ApplicationState.EXPIRED
    return ApplicationState(state)


def state_text(state: str, level: "ProgrammeLevel") -> str:
    """What an application in ``state`` at ``level`` is called: 待学校审核, 区级审核未通过, 已审定, ..."""
    state = ApplicationState(state)
    if state in PENDING_STATES:
        return _("待%(level)s") % {"level": level.label}
    if state in (ApplicationState.REJECTED, ApplicationState.EXPIRED):
        return f"{level.label}{state.label}"
    return str(state.label)


class Application(models.Model):
    """A teacher's application to a programme; ``level`` is where it waits (or where it ended).

    ``school`` and ``district`` are copied from the teacher at submission so that
    scoping and quota counting are one indexed filter and a later transfer does
    not move the application. ``deadline`` is the current level's deadline for
    this application (the level's, or the district's reopened one).
    """

    programme = models.ForeignKey(
        Programme, verbose_name=_("项目"), on_delete=models.PROTECT, related_name="applications"
    )
    teacher = models.ForeignKey(
        "portal.Teacher", verbose_name=_("教师"), on_delete=models.PROTECT, related_name="programme_applications"
    )
    school = models.ForeignKey("portal.Unit", verbose_name=_("学校"), on_delete=models.PROTECT, related_name="+")
    district = models.ForeignKey("portal.Unit", verbose_name=_("区（县）"), on_delete=models.PROTECT, related_name="+")
    state = models.CharField(
        _("状态"), max_length=12, choices=ApplicationState.choices, default=ApplicationState.SUBMITTED
    )
    level = models.ForeignKey(ProgrammeLevel, verbose_name=_("所在层级"), on_delete=models.PROTECT, related_name="+")
    deadline = models.DateTimeField(_("本级截止"))
    note = models.CharField(_("报名说明"), max_length=200, blank=True)
    reject_reason = models.TextField(_("未通过原因"), blank=True)
    submitted_at = models.DateTimeField(_("报名时间"))
    decided_at = models.DateTimeField(_("最近处理时间"), null=True, blank=True)

    objects = ApplicationQuerySet.as_manager()

    class Meta:
        ordering = ["id"]  # lists order explicitly; a default with joins would slow every query
        verbose_name = _("报名申请")
        verbose_name_plural = _("报名申请")
        constraints = [models.UniqueConstraint(fields=["programme", "teacher"], name="application_once_per_teacher")]
        indexes = [
            models.Index(fields=["programme", "district", "state"], name="application_quota_count"),
            models.Index(fields=["state", "deadline"], name="application_overdue"),
            # A district's queue at each level (selectors.actionable_q: a district admin's rows by district).
            models.Index(fields=["district", "level"], name="application_district_queue"),
        ]

    def __str__(self) -> str:
        return f"{self.teacher} · {self.programme}"

    def effective_state(self, now: dt.datetime) -> ApplicationState:
        return effective_state(self.state, self.deadline, now)

    def status_text(self, now: dt.datetime) -> str:
        return state_text(self.effective_state(now), self.level)


class AuditAction(models.TextChoices):
    SUBMIT = "submit", _("报名")
    WITHDRAW = "withdraw", _("撤回")
    APPROVE = "approve", _("审核通过")
    REJECT = "reject", _("审核不通过")
    FINALIZE = "finalize", _("审定")
    EXPIRE = "expire", _("逾期失效")
    QUOTA_SET = "quota_set", _("设置名额")
    QUOTA_MOVE = "quota_move", _("调剂名额")
    QUOTA_REOPEN = "quota_reopen", _("重新开放区级审核")
    QUOTA_IMPORT = "quota_import", _("导入名额分配表")
    EXPORT = "export", _("导出名单")


SYSTEM_ROLE = "system"
AUDIT_ROLE_CHOICES = [*Role.choices, (SYSTEM_ROLE, _("系统"))]


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("audit entries are immutable")

    def delete(self):
        raise PermissionError("audit entries are immutable")


class AuditEntry(models.Model):
    """One decision or administrative act, written once and never changed."""

    # The log is append-only: its rows are never changed or deleted, so nothing cascades from them. The keys
    # to the programme, level, district and actor only name what an entry is about, for display; they keep
    # on_delete=PROTECT (Django refuses to delete a programme, level, unit or user the log names) but have no
    # database constraint, whose per-row check at commit cost the deadline sweep 1.1 s per 100,000 expiries.
    # The key to the application keeps its constraint: an entry is always about a real application.
    # ``programme`` needs no index of its own: audit_programme_time starts with it.
    programme = models.ForeignKey(
        Programme, on_delete=models.PROTECT, related_name="audit_entries", db_constraint=False, db_index=False
    )
    application = models.ForeignKey(
        Application, null=True, blank=True, on_delete=models.PROTECT, related_name="audit_entries"
    )
    district = models.ForeignKey(
        "portal.Unit", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    # Indexed only where set (audit_actor): system entries, such as the sweep's, have no actor.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    actor_name = models.CharField(_("操作人姓名"), max_length=50, blank=True)
    actor_role = models.CharField(_("角色"), max_length=20, choices=AUDIT_ROLE_CHOICES)
    action = models.CharField(_("操作"), max_length=20, choices=AuditAction.choices)
    level = models.ForeignKey(
        ProgrammeLevel, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    from_state = models.CharField(_("原状态"), max_length=12, blank=True)
    to_state = models.CharField(_("新状态"), max_length=12, blank=True)
    comment = models.TextField(_("意见"), blank=True)
    data = models.JSONField(_("详情"), default=dict, blank=True)
    created_at = models.DateTimeField(_("时间"))

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("审核日志")
        verbose_name_plural = _("审核日志")
        indexes = [
            models.Index(fields=["programme", "created_at"], name="audit_programme_time"),
            models.Index(fields=["actor"], name="audit_actor", condition=Q(actor__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} · {self.actor_name} · {self.get_action_display()}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise PermissionError("audit entries are immutable")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("audit entries are immutable")


class ProgrammeSession(models.Model):
    """One meeting of a special programme; its finalized participants' attendance is taken as for a course session
    (courses.attendance_services, session kind "programme")."""

    programme = models.ForeignKey(Programme, verbose_name=_("项目"), on_delete=models.CASCADE, related_name="sessions")
    date = models.DateField(_("日期"))
    starts_at = models.TimeField(_("开始时间"))
    ends_at = models.TimeField(_("结束时间"))
    place = models.CharField(_("地点"), max_length=200)

    class Meta:
        ordering = ["date", "starts_at", "id"]
        verbose_name = _("专项培训课次")
        verbose_name_plural = _("专项培训课次")
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="programme_session_ends_after"),
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.starts_at:%H:%M}–{self.ends_at:%H:%M} {self.place}"

    def clean(self) -> None:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": _("结束时间必须晚于开始时间")})
