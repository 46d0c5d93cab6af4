"""Credit hours: categories, kinds, topics, rule sets (and, later, the ledger)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.text import NameField


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
