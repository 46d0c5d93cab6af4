"""Training periods, providers, courses, special programmes and quotas."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Provider(models.Model):
    """A training provider (施教机构)."""

    code = models.CharField(_("机构代码"), max_length=32, unique=True)
    name = models.CharField(_("机构名称"), max_length=100)
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True)
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
    name = models.CharField(_("名称"), max_length=100)
    rule_set = models.ForeignKey(
        "credits.RuleSet", verbose_name=_("学时规则"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="periods",
    )
    selection_opens_at = models.DateTimeField(_("选课开始"))
    selection_closes_at = models.DateTimeField(_("选课截止"))
    late_opens_at = models.DateTimeField(_("补选开始"), null=True, blank=True)
    late_closes_at = models.DateTimeField(_("补选截止"), null=True, blank=True)
    drop_allowed_in_late = models.BooleanField(_("补选期间允许退课"), default=False)
    training_starts_on = models.DateField(_("培训开始"))
    training_ends_on = models.DateField(_("培训结束"))

    class Meta:
        ordering = ["-year", "code"]
        verbose_name = _("培训周期")
        verbose_name_plural = _("培训周期")

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"
