"""Credit hours: categories, kinds, topics, rule sets (and, later, the ledger)."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.text import NameField
from portal.uploads import private_storage, private_upload_to


class Category(models.TextChoices):
    """The three subject categories of the provincial rules."""

    PUBLIC = "public", _("公需科目")
    PROFESSIONAL = "professional", _("专业科目")
    ELECTIVE = "elective", _("选修科目")


class Topic(models.Model):
    """A special topic (专题) such as 师德师风 or 双减: data, so a city can add its own."""

    code = models.SlugField(_("代码"), max_length=40, unique=True)
    name = NameField(_("名称"), max_length=60, unique=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("专题")
        verbose_name_plural = _("专题")

    def __str__(self) -> str:
        return self.name


class CreditKind(models.Model):
    """A kind of hours inside a category where a rule tells them apart
    (Maoming: ordinary remote courses vs. rotation online training)."""

    code = models.SlugField(_("代码"), max_length=40, unique=True)
    name = NameField(_("名称"), max_length=60)
    category = models.CharField(_("科目类别"), max_length=20, choices=Category.choices)

    class Meta:
        ordering = ["id"]
        verbose_name = _("学时类型")
        verbose_name_plural = _("学时类型")

    def __str__(self) -> str:
        return self.name


class RuleSet(models.Model):
    """The year's requirement for a city, as a small tree of rules stored as data.

    ``tree`` is evaluated by credits.rule_engine (all_of, any_of, min_hours, min_total,
    requires_topic); no rule is written in code.
    """

    city = models.ForeignKey("portal.Unit", verbose_name=_("城市"), on_delete=models.PROTECT, related_name="rule_sets")
    year = models.PositiveSmallIntegerField(_("年度"))
    name = NameField(_("名称"), max_length=100)
    tree = models.JSONField(_("规则"))
    description = models.TextField(_("说明"), blank=True)

    class Meta:
        ordering = ["city", "-year"]
        verbose_name = _("学时规则")
        verbose_name_plural = _("学时规则")
        constraints = [models.UniqueConstraint(fields=["city", "year"], name="ruleset_city_year_unique")]

    def __str__(self) -> str:
        return f"{self.city} {self.year} {self.name}"


class Source(models.TextChoices):
    """Where an entry's hours came from."""

    COURSE = "course", _("课程结业")
    IMPORT = "import", _("机构成绩导入")
    MANUAL = "manual", _("人工调整")
    TRANSFER = "transfer", _("外市转入")
    REVERSAL = "reversal", _("冲正")
    DECLARATION = "declaration", _("学时申报认定")
    SCHOOL_TRAINING = "school_training", _("校本研修")


class LedgerImmutableError(Exception):
    """Ledger entries are written once; a correction is a reversing entry."""


class CreditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise LedgerImmutableError(_("学时记录不能修改，请用冲正记录更正"))

    def delete(self):
        raise LedgerImmutableError(_("学时记录不能删除，请用冲正记录更正"))

    # bulk_update goes through update(); keep the message the same.
    def bulk_update(self, objs, fields, batch_size=None):
        raise LedgerImmutableError(_("学时记录不能修改，请用冲正记录更正"))


class CreditEntry(models.Model):
    """One line of the append-only ledger: hours a teacher earned (or, negative, a reversal).

    Never updated or deleted — not by the app (save/delete/QuerySet guards), not
    by the admin (read-only) and not by SQL (a PostgreSQL trigger, migration
    0003). A teacher's hours are the sum of her entries. ``topic_codes`` keeps
    the entry's topic codes as ",ethics,shuangjian," so the entry stays one
    immutable row and compliance is one scan of one table.
    """

    teacher = models.ForeignKey(
        "portal.Teacher", verbose_name=_("教师"), on_delete=models.PROTECT, related_name="credit_entries"
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    category = models.CharField(_("科目类别"), max_length=20, choices=Category.choices)
    kind = models.ForeignKey(
        CreditKind, verbose_name=_("学时类型"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    topic_codes = models.CharField(_("专题"), max_length=300, blank=True, default="")
    hours = models.DecimalField(_("学时"), max_digits=7, decimal_places=2)
    source = models.CharField(_("来源"), max_length=20, choices=Source.choices)
    reference = models.CharField(_("来源标识"), max_length=120)
    reverses = models.OneToOneField(
        "self",
        verbose_name=_("冲正的记录"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reversed_by",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("记录人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("记录时间"), default=timezone.now)
    reason = models.TextField(_("原因"), blank=True)

    objects = CreditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["teacher", "year", "recorded_at", "id"]
        verbose_name = _("学时记录")
        verbose_name_plural = _("学时记录")
        indexes = [models.Index(fields=["teacher", "year"], name="credit_entry_teacher_year")]
        constraints = [
            models.UniqueConstraint(fields=["source", "reference"], name="credit_entry_source_reference"),
            models.CheckConstraint(condition=~Q(hours=0), name="credit_entry_hours_nonzero"),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.get_category_display()} {self.hours}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise LedgerImmutableError(_("学时记录不能修改，请用冲正记录更正"))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise LedgerImmutableError(_("学时记录不能删除，请用冲正记录更正"))

    @property
    def topics(self) -> list[str]:
        return [code for code in self.topic_codes.split(",") if code]

    @staticmethod
    def join_topics(codes) -> str:
        codes = sorted({c for c in codes if c})
        return f",{','.join(codes)}," if codes else ""


class Certificate(models.Model):
    """An issued hours certificate (学时证明): what it showed, frozen, and its verification code.

    ``code`` is an HMAC (SECRET_KEY) of the canonical ``content``; the public
    verification page recomputes it, so a changed row or a made-up code fails.
    """

    code = models.CharField(_("验证码"), max_length=32, unique=True)
    teacher = models.ForeignKey(
        "portal.Teacher", verbose_name=_("教师"), on_delete=models.PROTECT, related_name="credit_certificates"
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    content = models.JSONField(_("证明内容"))
    content_hash = models.CharField(_("内容摘要"), max_length=64)
    issued_at = models.DateTimeField(_("签发时间"), default=timezone.now)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("签发人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-issued_at", "-id"]
        verbose_name = _("学时证明")
        verbose_name_plural = _("学时证明")

    def __str__(self) -> str:
        return self.code


class ComplianceSnapshot(models.Model):
    """A unit's compliance on one day, for the trend chart (taken by credits.services.compliance_snapshot_take)."""

    unit = models.ForeignKey("portal.Unit", verbose_name=_("单位"), on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField(_("年度"))
    date = models.DateField(_("日期"))
    teachers = models.PositiveIntegerField(_("教师数"))
    compliant = models.PositiveIntegerField(_("达标人数"))

    class Meta:
        ordering = ["unit", "year", "date"]
        verbose_name = _("达标率快照")
        verbose_name_plural = _("达标率快照")
        constraints = [
            models.UniqueConstraint(fields=["unit", "year", "date"], name="compliance_snapshot_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.unit} {self.date} {self.compliant}/{self.teachers}"

    @property
    def rate(self) -> float:
        return self.compliant / self.teachers if self.teachers else 0.0


class TeacherYearTotal(models.Model):
    """A teacher's ledger sums for one year, kept by the database as entries are inserted.

    Derived data only: on PostgreSQL a statement-level AFTER INSERT trigger on the
    ledger (migration 0005) adds each statement's hours here, so the compliance
    dashboards read one row per teacher instead of summing the whole ledger.
    ``kinds`` maps CreditKind ids (as text) and ``topics`` maps Topic codes to
    hours, since kinds and topics are data. ``manage.py rebuild_credit_totals``
    recomputes the table from the ledger. SQLite (the demo) does not keep it and
    sums the ledger per request instead.
    """

    # No database constraint: a teacher with entries cannot be deleted (the ledger protects
    # her), one without entries has no totals, and bulk rebuilds skip 250,000 key checks.
    teacher = models.ForeignKey(
        "portal.Teacher",
        verbose_name=_("教师"),
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
        db_index=False,  # the unique (teacher, year) index serves
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    total = models.DecimalField(_("总学时"), max_digits=9, decimal_places=2, default=0)
    public = models.DecimalField(_("公需科目"), max_digits=9, decimal_places=2, default=0)
    professional = models.DecimalField(_("专业科目"), max_digits=9, decimal_places=2, default=0)
    elective = models.DecimalField(_("选修科目"), max_digits=9, decimal_places=2, default=0)
    kinds = models.JSONField(_("按学时类型"), default=dict)
    topics = models.JSONField(_("按专题"), default=dict)

    class Meta:
        verbose_name = _("教师年度学时汇总")
        verbose_name_plural = _("教师年度学时汇总")
        constraints = [models.UniqueConstraint(fields=["teacher", "year"], name="teacher_year_total_unique")]

    def __str__(self) -> str:
        return f"{self.teacher_id} {self.year} {self.total}"


# --- hours earned outside the catalogue: declarations (学时申报) and school-based training (校本研修) -----------
#
# credits sits below courses, so these settings are keyed by city and year, not by training period.


class DeclarationSettings(models.Model):
    """A city's rules for declared hours in one year: what may be declared, how days become hours, deadlines.

    Guangdong counts a full day as 8 hours and, for part of a day, 45 minutes as 1 hour; both
    figures are data here. A declaration is refused after ``declare_until`` and certification
    after ``certify_until`` (the whole day counts: 23:59 is in time, 00:00 the next day is not).
    """

    city = models.ForeignKey(
        "portal.Unit",
        verbose_name=_("城市"),
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind": "city"},
    )
    year = models.PositiveSmallIntegerField(_("年度"), help_text=_("培训结束日期所在的年度"))
    categories = models.JSONField(
        _("可申报的科目类别"), default=list, help_text=_('科目类别代码的列表，例如 ["professional", "elective"]')
    )
    hours_per_day = models.DecimalField(_("整天折算学时"), max_digits=4, decimal_places=1, default=Decimal("8"))
    minutes_per_hour = models.PositiveSmallIntegerField(_("不足一天时每学时分钟数"), default=45)
    declare_until = models.DateField(_("申报截止日期"), help_text=_("当天 23:59 前可申报"))
    certify_until = models.DateField(_("认定截止日期"), help_text=_("当天 23:59 前可认定或退回"))
    remind_days_before = models.PositiveSmallIntegerField(_("认定截止前几天提醒学校"), default=3)

    class Meta:
        ordering = ["city", "-year"]
        verbose_name = _("学时申报设置")
        verbose_name_plural = _("学时申报设置")
        constraints = [models.UniqueConstraint(fields=["city", "year"], name="declaration_settings_city_year")]

    def __str__(self) -> str:
        return f"{self.city} {self.year}"

    def clean(self) -> None:
        errors = {}
        unknown = set(self.categories or []) - set(Category.values)
        if unknown or not isinstance(self.categories, list):
            errors["categories"] = _("只能填写 public、professional、elective 中的代码")
        if self.declare_until and self.certify_until and self.certify_until < self.declare_until:
            errors["certify_until"] = _("认定截止日期不能早于申报截止日期")
        if not self.minutes_per_hour:
            errors["minutes_per_hour"] = _("每学时分钟数必须大于 0")
        if errors:
            raise ValidationError(errors)

    def max_hours(self, full_days: int, minutes: int) -> Decimal:
        """The most hours ``full_days`` whole days plus ``minutes`` of a part day may count for.

        A part day counts one hour per whole ``minutes_per_hour`` and never more than a full day.
        """
        part = min(Decimal(minutes // self.minutes_per_hour), self.hours_per_day)
        return full_days * self.hours_per_day + part

    @property
    def rule_text(self) -> str:
        return _("整天按 %(day)s 学时计，不足一天每 %(min)d 分钟计 1 学时") % {
            "day": f"{self.hours_per_day.normalize():f}",
            "min": self.minutes_per_hour,
        }

    @property
    def category_choices(self) -> list[tuple[str, str]]:
        return [(c.value, c.label) for c in Category if c.value in (self.categories or [])]


class DeclarationState(models.TextChoices):
    SUBMITTED = "submitted", _("待认定")
    CERTIFIED = "certified", _("已认定")
    RETURNED = "returned", _("已退回")
    REVOKED = "revoked", _("已撤销认定")


# A declaration in these states still claims its dates: another one like it is a duplicate.
CLAIMING_STATES = (DeclarationState.SUBMITTED, DeclarationState.CERTIFIED)


class Declaration(models.Model):
    """Hours a teacher earned outside the catalogue (a conference, an offline training), declared for certification.

    ``school`` is copied from the teacher at submission: scoping is one indexed filter and a
    later transfer does not move the declaration. Certified hours are one ledger entry
    (source "declaration", reference ``declaration:<id>``); a revocation reverses it.
    """

    teacher = models.ForeignKey(
        "portal.Teacher", verbose_name=_("教师"), on_delete=models.PROTECT, related_name="hour_declarations"
    )
    school = models.ForeignKey("portal.Unit", verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("年度"))
    title = models.CharField(_("培训名称"), max_length=200)
    organiser = models.CharField(_("主办单位"), max_length=100)
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"))
    category = models.CharField(_("科目类别"), max_length=20, choices=Category.choices)
    topic = models.ForeignKey(
        Topic, verbose_name=_("专题"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    full_days = models.PositiveSmallIntegerField(_("整天天数"), default=0)
    minutes = models.PositiveIntegerField(_("不足一天的时长（分钟）"), default=0)
    hours = models.DecimalField(_("申报学时"), max_digits=5, decimal_places=1)
    state = models.CharField(
        _("状态"), max_length=12, choices=DeclarationState.choices, default=DeclarationState.SUBMITTED
    )
    submitted_at = models.DateTimeField(_("申报时间"))
    decided_at = models.DateTimeField(_("认定时间"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("认定人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    return_reason = models.TextField(_("退回原因"), blank=True)
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("撤销人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    revoke_reason = models.TextField(_("撤销原因"), blank=True)
    sampled_at = models.DateTimeField(_("抽查抽中时间"), null=True, blank=True)
    sample_checked_at = models.DateTimeField(_("抽查核验时间"), null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("学时申报")
        verbose_name_plural = _("学时申报")
        indexes = [
            models.Index(fields=["school", "state"], name="declaration_school_state"),
            models.Index(fields=["teacher", "starts_on"], name="declaration_teacher_dates"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")), name="declaration_dates_ordered"),
            models.CheckConstraint(condition=Q(hours__gt=0), name="declaration_hours_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.teacher} · {self.title}"

    @property
    def reference(self) -> str:
        """The ledger reference of the entry its certification records."""
        return declaration_reference(self.pk)


def declaration_reference(declaration_id: int) -> str:
    return f"declaration:{declaration_id}"


_evidence_path = private_upload_to("declarations")


def evidence_upload_to(instance: "DeclarationEvidence", filename: str) -> str:
    """declarations/YYYY/MM/<random>.<ext> in private storage (a module-level name, so migrations can refer to it)."""
    return _evidence_path(instance, filename)


class DeclarationEvidence(models.Model):
    """A certificate or attendance sheet backing a declaration: private, served only to its reviewers."""

    declaration = models.ForeignKey(Declaration, on_delete=models.PROTECT, related_name="evidence")
    file = models.FileField(_("文件"), storage=private_storage, upload_to=evidence_upload_to, max_length=200)
    name = models.CharField(_("文件名"), max_length=200)
    kind = models.CharField(_("类型"), max_length=10)
    size = models.PositiveIntegerField(_("大小"))
    uploaded_at = models.DateTimeField(_("上传时间"), default=timezone.now)

    class Meta:
        ordering = ["declaration", "id"]
        verbose_name = _("申报佐证材料")
        verbose_name_plural = _("申报佐证材料")

    def __str__(self) -> str:
        return self.name


class HoursAuditAction(models.TextChoices):
    DECLARE = "declare", _("申报")
    CERTIFY = "certify", _("认定")
    RETURN = "return", _("退回")
    REVOKE = "revoke", _("撤销认定")
    SAMPLE = "sample", _("抽查抽样")
    SAMPLE_PASS = "sample_pass", _("抽查通过")
    ACTIVITY = "activity", _("记录校本研修")
    CAP_SET = "cap_set", _("设置校本研修学时上限")
    ATTENDANCE = "attendance", _("登记考勤")
    ATTENDANCE_LATE = "attendance_late", _("逾期受理考勤")
    LEAVE_REQUEST = "leave_request", _("请假")
    LEAVE_APPROVE = "leave_approve", _("批准请假")
    LEAVE_REFUSE = "leave_refuse", _("不批准请假")


class HoursAuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("audit entries are immutable")

    def delete(self):
        raise PermissionError("audit entries are immutable")


class HoursAuditEntry(models.Model):
    """One act on hours earned outside the catalogue (declarations, school training, attendance), never changed.

    ``subject`` names what it is about ("declaration", "school_activity", "attendance", "leave")
    and ``subject_id`` which one; ``unit`` is the school (or district, city) it concerns.
    """

    subject = models.CharField(_("对象"), max_length=30)
    subject_id = models.PositiveBigIntegerField(_("对象编号"), null=True, blank=True)
    unit = models.ForeignKey(
        "portal.Unit",
        verbose_name=_("单位"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )
    actor_name = models.CharField(_("操作人姓名"), max_length=50)
    action = models.CharField(_("操作"), max_length=20, choices=HoursAuditAction.choices)
    comment = models.TextField(_("意见"), blank=True)
    data = models.JSONField(_("详情"), default=dict, blank=True)
    created_at = models.DateTimeField(_("时间"))

    objects = HoursAuditQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("学时操作日志")
        verbose_name_plural = _("学时操作日志")
        indexes = [models.Index(fields=["subject", "subject_id"], name="hours_audit_subject")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} · {self.actor_name} · {self.get_action_display()}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("audit entries are immutable")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("audit entries are immutable")


class SchoolActivity(models.Model):
    """A school-based training activity (校本研修): its attendees' hours are ledger entries
    (source "school_training", reference ``school-activity:<id>:<teacher id>``)."""

    school = models.ForeignKey("portal.Unit", verbose_name=_("学校"), on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("年度"))
    title = models.CharField(_("活动名称"), max_length=200)
    date = models.DateField(_("日期"))
    hours = models.DecimalField(_("学时"), max_digits=4, decimal_places=1)
    category = models.CharField(_("科目类别"), max_length=20, choices=Category.choices)
    topic = models.ForeignKey(
        Topic, verbose_name=_("专题"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    attendee_count = models.PositiveIntegerField(_("参加人数"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("记录人"), on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("记录时间"))

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name = _("校本研修活动")
        verbose_name_plural = _("校本研修活动")
        indexes = [models.Index(fields=["school", "year"], name="school_activity_school_year")]
        constraints = [models.CheckConstraint(condition=Q(hours__gt=0), name="school_activity_hours_positive")]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.title}"

    @property
    def reference_prefix(self) -> str:
        return f"school-activity:{self.pk}:"


class SchoolTrainingCap(models.Model):
    """The most school-based training hours a school of this district may award one teacher in a year (data)."""

    district = models.ForeignKey("portal.Unit", verbose_name=_("区（县）"), on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("年度"))
    hours = models.DecimalField(_("每人每年上限（学时）"), max_digits=5, decimal_places=1)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    set_at = models.DateTimeField(_("设置时间"))

    class Meta:
        ordering = ["district", "-year"]
        verbose_name = _("校本研修学时上限")
        verbose_name_plural = _("校本研修学时上限")
        constraints = [models.UniqueConstraint(fields=["district", "year"], name="school_training_cap_unique")]

    def __str__(self) -> str:
        return f"{self.district} {self.year} ≤ {self.hours}"
