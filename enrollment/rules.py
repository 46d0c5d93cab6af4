"""Object permissions (django-rules) for templates and views: role + state + deadline, read at request time.

The services check the same things again when acting; these predicates only
decide which buttons to show.
"""

import rules
from django.utils import timezone

from .models import ApplicationState


@rules.predicate
def may_decide(user, application) -> bool:
    from . import selectors

    return application is not None and selectors.may_act(user, application, timezone.now())


@rules.predicate
def may_withdraw(user, application) -> bool:
    if application is None or application.teacher.user_id != user.pk:
        return False
    first = application.programme.levels.order_by("order").first()
    return (
        application.state == ApplicationState.SUBMITTED
        and first is not None
        and application.level_id == first.pk
        and timezone.now() <= application.deadline
    )


rules.add_perm("enrollment.decide_application", may_decide)
rules.add_perm("enrollment.withdraw_application", may_withdraw)

# Django admin: staff city admins configure programmes, levels and quotas of their city
# (querysets narrowed in enrollment.admin); applications and the audit log are view-only.
_city_staff = rules.is_staff & rules.predicate(lambda user: _is_city_admin(user))


def _is_city_admin(user) -> bool:
    from portal.models import Role
    from portal.scoping import scope_for

    return scope_for(user).has(Role.CITY_ADMIN)


for _model in ("programme", "programmelevel", "quota", "programmesession"):
    for _action in ("view", "add", "change", "delete"):
        rules.add_perm(f"enrollment.{_action}_{_model}", _city_staff)
rules.add_perm("enrollment.view_application", _city_staff)
rules.add_perm("enrollment.view_auditentry", _city_staff)
rules.add_perm("enrollment", _city_staff)
