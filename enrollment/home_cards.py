"""Home cards of special programmes (registered from EnrollmentConfig.ready)."""

import datetime as dt

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import Role
from portal.registry import HomeCard

from . import selectors
from .models import PENDING_STATES, Application


def enrollment_cards(request, scope, now) -> list[HomeCard]:
    cards: list[HomeCard] = []
    if scope.is_admin:
        for s in selectors.queue_summary(request.user, now):
            deadline = timezone.localtime(s.deadline)
            urgent = s.deadline - now < dt.timedelta(days=1)
            cards.append(
                HomeCard(
                    role=s.role,
                    title=_("专项培训%(level)s：%(t)s") % {"level": s.level_label, "t": s.programme_title},
                    text=_("待审核 %(n)d 份，截止 %(m)d月%(d)d日")
                    % {"n": s.count, "m": deadline.month, "d": deadline.day},
                    count=s.count,
                    url=f"{reverse('enrollment:review')}?programme={s.programme_id}",
                    link_label=_("去审核"),
                    level="danger" if urgent else "warning",
                    order=50,
                )
            )
    if scope.teacher is not None:
        open_count = selectors.programmes_open_for(request.user, now).count()
        cards.append(
            HomeCard(
                role=Role.TEACHER,
                title=_("可报名的专项培训"),
                count=open_count,
                order=50,
                text=_("正在报名的项目，报名后由学校、区、市逐级审核。")
                if open_count
                else _("目前没有正在报名的专项培训。"),
                url=reverse("enrollment:programme_list"),
                link_label=_("查看项目"),
                level="primary" if open_count else "secondary",
            )
        )
        mine = Application.objects.filter(teacher=scope.teacher)
        total = mine.count()
        if total:
            waiting = mine.filter(state__in=PENDING_STATES, deadline__gte=now).count()
            cards.append(
                HomeCard(
                    role=Role.TEACHER,
                    title=_("我的专项培训报名"),
                    count=total,
                    order=51,
                    text=_("其中 %(n)d 份正在审核。") % {"n": waiting},
                    url=reverse("enrollment:my_applications"),
                    link_label=_("查看进度"),
                    level="info",
                )
            )
    return cards
