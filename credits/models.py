"""Credit hours: categories, kinds, topics, rule sets (and, later, the ledger)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    """The three subject categories of the provincial rules."""

    PUBLIC = "public", _("公需科目")
    PROFESSIONAL = "professional", _("专业科目")
    ELECTIVE = "elective", _("选修科目")


class Topic(models.Model):
    """A special topic (专题) such as 师德师风 or 双减: data, so a city can add its own."""

    code = models.SlugField(_("代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=60, unique=True)

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
    name = models.CharField(_("名称"), max_length=60)
    category = models.CharField(_("科目类别"), max_length=20, choices=Category.choices)

    class Meta:
        ordering = ["id"]
        verbose_name = _("学时类型")
        verbose_name_plural = _("学时类型")

    def __str__(self) -> str:
        return self.name


class RuleSet(models.Model):
    """The year's requirement for a city, as a small tree of rules stored as data.

    ``tree`` is evaluated by credits.rules (all_of, any_of, min_hours, min_total,
    requires_topic); no rule is written in code.
    """

    city = models.ForeignKey("portal.Unit", verbose_name=_("城市"), on_delete=models.PROTECT, related_name="rule_sets")
    year = models.PositiveSmallIntegerField(_("年度"))
    name = models.CharField(_("名称"), max_length=100)
    tree = models.JSONField(_("规则"))
    description = models.TextField(_("说明"), blank=True)

    class Meta:
        ordering = ["city", "-year"]
        verbose_name = _("学时规则")
        verbose_name_plural = _("学时规则")
        constraints = [models.UniqueConstraint(fields=["city", "year"], name="ruleset_city_year_unique")]

    def __str__(self) -> str:
        return f"{self.city} {self.year} {self.name}"
