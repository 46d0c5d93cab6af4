"""The compliance list as a background export (``portal.registry.ExportKind`` "compliance")."""

from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.export_runner import export_stamp, top_unit
from portal.models import User
from portal.registry import ExportRefused, ExportSpec

from .selectors import export_rows, rule_set_for_unit, short_count


def compliance_export_spec(user: User, params: dict) -> ExportSpec:
    """Every teacher (or only those short) of the user's top unit for a year, with the verdict."""
    unit = top_unit(user)
    if unit is None:
        raise PermissionDenied
    year = int(params.get("year") or timezone.localdate().year)
    rule_set = rule_set_for_unit(unit, year)
    if rule_set is None:
        raise ExportRefused(
            _("%(unit)s没有%(year)d年度的学时规则，无法导出达标名单。") % {"unit": unit.name, "year": year}
        )
    only_short = bool(params.get("only_short"))
    headers, rows = export_rows(unit, year, rule_set.tree, only_short=only_short)
    return ExportSpec(
        title=_("%(unit)s %(year)d年度学时达标名单（导出于 %(time)s）")
        % {"unit": unit.name, "year": year, "time": export_stamp()},
        headers=headers,
        total=short_count(unit, year, rule_set.tree, show_all=not only_short),
        rows=rows,
        sheet_name=_("达标名单"),
    )
