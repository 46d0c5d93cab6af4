"""Who may do what to which object, as django-rules predicates.

Visibility (404 for outsiders) is portal.scoping's job; these say whether a
user who can see an object may change it. The Django admin's model
permissions are granted here too: superusers have them anyway, and staff who
hold the city-admin role configure the organisation tree of their city.
"""

import rules

from portal.models import Role
from portal.scoping import scope_for


@rules.predicate
def is_admin(user) -> bool:
    return scope_for(user).is_admin


@rules.predicate
def is_district_or_city_admin(user) -> bool:
    scope = scope_for(user)
    return scope.has(Role.DISTRICT_ADMIN) or scope.has(Role.CITY_ADMIN)


@rules.predicate
def is_city_admin(user) -> bool:
    return scope_for(user).has(Role.CITY_ADMIN)


@rules.predicate
def is_staff(user) -> bool:
    return bool(getattr(user, "is_staff", False))


@rules.predicate
def manages_teacher(user, teacher) -> bool:
    """The teacher belongs to a unit in the user's administrative reach."""
    return teacher is not None and scope_for(user).reaches(teacher.unit)


@rules.predicate
def is_the_teacher(user, teacher) -> bool:
    return teacher is not None and user.is_authenticated and teacher.user_id == user.pk


@rules.predicate
def reaches_unit(user, unit) -> bool:
    return unit is not None and scope_for(user).reaches(unit)


rules.add_perm("portal.view_teacher_record", manages_teacher | is_the_teacher)
rules.add_perm("portal.edit_teacher_record", manages_teacher)
rules.add_perm("portal.set_teacher_password", manages_teacher)
rules.add_perm("portal.use_roster", is_admin)
rules.add_perm("portal.view_unit_tree", is_district_or_city_admin)
rules.add_perm("portal.transfer_to_unit", reaches_unit)

# Django admin: staff city admins configure the tree (their querysets are
# narrowed to their reach in portal.admin).
city_staff = is_staff & is_city_admin
for model in ("unit", "stage", "teacher", "roleassignment", "user"):
    for action in ("view", "add", "change"):
        rules.add_perm(f"portal.{action}_{model}", city_staff)
rules.add_perm("portal.view_teachermove", city_staff)
rules.add_perm("portal.delete_roleassignment", city_staff)
rules.add_perm("portal.view_notification", city_staff)
rules.add_perm("portal", city_staff)  # the app's entry on the admin index
for action in ("view", "add", "change", "delete"):
    rules.add_perm(f"portal.{action}_reminderdate", city_staff)

# The background jobs' schedules (django-celery-beat rows): city admins see them
# and may move a time or pause a job; adding or deleting jobs stays with superusers.
rules.add_perm("django_celery_beat", city_staff)
rules.add_perm("django_celery_beat.view_periodictask", city_staff)
rules.add_perm("django_celery_beat.change_periodictask", city_staff)
for model in ("crontabschedule", "intervalschedule"):
    for action in ("view", "add", "change"):
        rules.add_perm(f"django_celery_beat.{action}_{model}", city_staff)
