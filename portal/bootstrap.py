"""The first platform operator of a fresh installation, made by ``migrate`` from the environment.

The install step runs ``migrate`` anyway (docker-compose's one-shot ``migrate`` service, ``make demo``),
so setting ``FIRST_OPERATOR_ID_NUMBER`` and ``FIRST_OPERATOR_PASSWORD`` (or ``_FILE``) there is all it
takes; no shell, no command to remember, and no public "first user wins" page. It acts only while the
installation has no operator, so the variables may stay set: a later migrate changes nothing, and
the password is never reset from them.
"""

from django.conf import settings
from django.db.models.signals import post_migrate


def _after_migrate(sender, verbosity: int = 1, **kwargs) -> None:
    if sender.name != "portal":
        return
    from portal.models import User
    from portal.services import first_operator_ensure

    user = first_operator_ensure(
        settings.FIRST_OPERATOR_ID_NUMBER, settings.FIRST_OPERATOR_NAME, settings.FIRST_OPERATOR_PASSWORD
    )
    if verbosity < 1:
        return
    if user is not None:
        print(f"Platform operator: {user.name} ({user.id_number[:4]}…{user.id_number[-4:]})")
    elif not User.objects.filter(is_operator=True).exists():
        print("No platform operator yet: set FIRST_OPERATOR_ID_NUMBER and FIRST_OPERATOR_PASSWORD, then migrate.")


def connect() -> None:
    post_migrate.connect(_after_migrate, dispatch_uid="portal-first-operator")
