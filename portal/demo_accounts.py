"""Demo data for accounts: a teacher whose password the school set, who must change it at first login.

The README's demo logins are shared by everyone who tries the demo, so they are deliberately left
without "must change" (forcing a change on the first visitor would lock out the next one); this
teacher shows the state instead (``python manage.py print_demo_logins`` lists her).
"""

from portal.demo import DEMO_PASSWORD, DemoContext
from portal.models import User


def load(ctx: DemoContext) -> None:
    school = ctx.schools["440100"][0]
    teacher = next(t for t in ctx.teachers["440100"] if t.unit == school and t.is_active and t.user_id is None)
    user = User(id_number=teacher.id_number, name=teacher.name, mobile=teacher.mobile, must_change_password=True)
    user.set_password(DEMO_PASSWORD)
    user.save()
    teacher.user = user
    teacher.save(update_fields=["user"])
