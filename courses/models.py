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
