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

# Django admin: staff city admins configure the tree of their city, the platform operator
# (staff too) what belongs to no city; portal.admin narrows every queryset to the reach.
city_staff = is_staff & is_city_admin


@rules.predicate
def is_operator(user) -> bool:
    return bool(getattr(user, "is_operator", False))


operator_staff = is_staff & is_operator

for model in ("unit", "roleassignment", "user"):
    for action in ("view", "add", "change"):
        rules.add_perm(f"portal.{action}_{model}", city_staff | operator_staff)
rules.add_perm("portal.delete_roleassignment", city_staff | operator_staff)
for action in ("view", "add", "change"):
    rules.add_perm(f"portal.{action}_teacher", city_staff)
    rules.add_perm(f"portal.{action}_stage", operator_staff)
rules.add_perm("portal.view_teachermove", city_staff)
rules.add_perm("portal.view_personaldataaccess", city_staff)
rules.add_perm("portal.view_notification", is_staff)  # each her own (portal.admin.Own)
rules.add_perm("portal.view_exportjob", is_staff)
rules.add_perm("portal", is_staff & (is_city_admin | is_operator))  # the app's entry on the admin index
for action in ("view", "add", "change", "delete"):
    rules.add_perm(f"portal.{action}_reminderdate", city_staff)

# The background jobs' schedules (django-celery-beat rows) belong to no city: the operator sees
# them and may move a time or pause a job; adding or deleting jobs stays with superusers.
rules.add_perm("django_celery_beat", operator_staff)
rules.add_perm("django_celery_beat.view_periodictask", operator_staff)
rules.add_perm("django_celery_beat.change_periodictask", operator_staff)
for model in ("crontabschedule", "intervalschedule"):
    for action in ("view", "add", "change"):
        rules.add_perm(f"django_celery_beat.{action}_{model}", operator_staff)
for model in ("clockedschedule", "solarschedule"):
    rules.add_perm(f"django_celery_beat.view_{model}", operator_staff)

# Login records (django-axes): the operator looks and lifts a lockout (deletes the attempt).
rules.add_perm("axes", operator_staff)
for model in ("accessattempt", "accesslog", "accessfailurelog"):
    rules.add_perm(f"axes.view_{model}", operator_staff)
rules.add_perm("axes.delete_accessattempt", operator_staff)
