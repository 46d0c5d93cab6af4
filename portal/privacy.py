"""身份证号 is sensitive personal information (PIPL): masked unless the job needs it whole.

Pages and exports show ``id_number_for(number, whole=False)``; where a job needs whole numbers
(a provider registers hours on the provincial platform from its participant form, the city
uploads its final list), the view or export that shows them records it here, naming the unit
whose people they were, so that unit's admins can see who looked (``personal_data_accesses_visible_to``).

Neither numbers nor query strings reach the logs (``portal.logs``). Every response of the portal's
own views carries ``Cache-Control: no-store`` (``portal.security_middleware``).
"""

from django.db.models import QuerySet

from portal import idcard
from portal.models import PersonalDataAccess, Role, Unit, User
from portal.scoping import scope_for

WHOLE_ID_ROLES = (Role.CITY_ADMIN, Role.DISTRICT_ADMIN, Role.SCHOOL_ADMIN)


def id_number_for(number: str, *, whole: bool = False) -> str:
    """The number as this page or file may show it: masked (440104********5675) unless ``whole``."""
    return number if whole else idcard.mask(number)


def personal_data_access_record(
    user: User, *, purpose: str, count: int, detail: str = "", unit: Unit | None = None
) -> PersonalDataAccess:
    """Record that ``user`` was shown ``count`` whole ID numbers of ``unit``'s people for ``purpose``.

    Without ``unit``, the highest unit the user administers. Side effect: one PersonalDataAccess
    row (kept; shown read-only to the unit's admins).
    """
    if unit is None:
        scope = scope_for(user)
        held = [u for role in WHOLE_ID_ROLES for u in scope.units.get(role, ())]
        unit = min(held, key=lambda u: len(u.path), default=None)
    return PersonalDataAccess.objects.create(
        user=user, user_name=user.name, unit=unit, purpose=purpose, detail=detail[:200], count=count
    )


def personal_data_accesses_of(user: User) -> QuerySet[PersonalDataAccess]:
    return PersonalDataAccess.objects.filter(user=user)


def personal_data_accesses_visible_to(user: User) -> QuerySet[PersonalDataAccess]:
    """The records about the people of the units the user administers (district and city admins)."""
    scope = scope_for(user)
    return PersonalDataAccess.objects.filter(scope.unit_q("unit", roles=(Role.DISTRICT_ADMIN, Role.CITY_ADMIN)))
