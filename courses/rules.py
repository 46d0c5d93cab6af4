"""Admin model permissions for the course supermarket (django-rules, autodiscovered).

Staff users holding the city-admin role configure providers, periods and courses of their
city in the Django admin; selections are read-only there (they change only through
courses.services). Querysets are narrowed to the city in courses/admin.py.
"""

import rules

from portal.rules import is_city_admin, is_staff

city_staff = is_staff & is_city_admin

for model in (
    "provider",
    "providerstaff",
    "trainingperiod",
    "course",
    "coursesession",
    "feepayer",
    "offerrule",
    "offerstagelevel",
    "noshowpolicy",
):
    for action in ("view", "add", "change", "delete"):
        rules.add_perm(f"courses.{action}_{model}", city_staff)
for model in ("courseselection", "waitlistentry"):
    rules.add_perm(f"courses.view_{model}", city_staff)
rules.add_perm("courses", city_staff)  # the app's entry on the admin index
