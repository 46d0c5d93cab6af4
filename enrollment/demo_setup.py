"""Demo announcements of programmes' start dates to their applicants (the notice: "start dates are
announced separately"): the 2022 principals' course, published; each current programme's, scheduled."""

import datetime as dt
from zoneinfo import ZoneInfo

from portal.models import Announcement, AnnouncementKind

from .models import Programme

SHANGHAI = ZoneInfo("Asia/Shanghai")
AUDIENCE = "enrollment.applicants"


def load(ctx) -> None:
    rows = []
    now = ctx.now.replace(second=0, microsecond=0)
    for city in ctx.cities.values():
        for programme in Programme.objects.filter(period__city=city).order_by("registration_opens_at"):
            past = programme.registration_closes_at < now - dt.timedelta(days=60)
            publish = programme.registration_closes_at + dt.timedelta(days=14) if past else now + dt.timedelta(days=5)
            start = (publish + dt.timedelta(days=14)).astimezone(SHANGHAI).date()
            rows.append(
                Announcement(
                    unit=city,
                    audience=AUDIENCE,
                    target_id=programme.pk,
                    kind=AnnouncementKind.PROGRAMME_START,
                    title=f"《{programme.title}》开班通知",
                    body=f"经审定的学员请于 {start:%Y年%m月%d日} 上午 9:00 到{city.name}教师发展中心报到，"
                    "携带身份证和单位介绍信。因故不能参加的，请在开班前三天告知所在学校。",
                    event_on=start,
                    publish_at=publish,
                )
            )
    Announcement.objects.bulk_create(rows)
