"""身份证号 is sensitive personal information (PIPL): masked unless the job needs it whole.

Pages and exports show ``id_number_for(number, whole=False)``; where a job needs whole numbers
(a provider registers hours on the provincial platform from its participant form, the city
uploads its final list), the view or export that shows them records it here.
"""

from django.db.models import QuerySet

from portal import idcard
from portal.models import PersonalDataAccess, User


def id_number_for(number: str, *, whole: bool = False) -> str:
    """The number as this page or file may show it: masked (440104********5675) unless ``whole``."""
    return number if whole else idcard.mask(number)


def personal_data_access_record(user: User, *, purpose: str, count: int, detail: str = "") -> PersonalDataAccess:
    """Record that ``user`` was shown ``count`` whole ID numbers for ``purpose``.

    Side effect: one PersonalDataAccess row (kept; the admin shows them read-only).
    """
    return PersonalDataAccess.objects.create(
        user=user, user_name=user.name, purpose=purpose, detail=detail[:200], count=count
    )


def personal_data_accesses_of(user: User) -> QuerySet[PersonalDataAccess]:
    return PersonalDataAccess.objects.filter(user=user)
