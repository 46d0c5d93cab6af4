"""Demo data for the set-up pages: the platform operator, each district's Q&A contacts, and
announcements already published and still scheduled (the job sends the latter on their date)."""

import datetime as dt

from portal.demo import DemoContext, _demo_user, random_mobile, random_name
from portal.models import Announcement, AnnouncementKind, Audience, Contact
from portal.services import announcements_send_due

OPERATOR_NAME = "广东省教师继续教育平台运营"
CITY_PHONES = {"440100": "020-83490000", "440900": "0668-2890000"}


def load(ctx: DemoContext) -> None:
    _demo_user(OPERATOR_NAME, "440000", 3, is_operator=True, is_staff=True)
    contacts = []
    for city_code, city in ctx.cities.items():
        phone = CITY_PHONES.get(city_code, "")
        contacts.append(Contact(unit=city, name=random_name(ctx.rng), phone=phone, duty="学时认定、证书查询", order=1))
        for district in ctx.districts[city_code]:
            contacts += [
                Contact(unit=district, name=name, phone=random_mobile(ctx.rng), duty=duty, order=order)
                for order, (name, duty) in enumerate(
                    [(random_name(ctx.rng), "选课与补选咨询"), (random_name(ctx.rng), "专项培训报名与审核")], start=1
                )
            ]
    Contact.objects.bulk_create(contacts)
    Announcement.objects.bulk_create(_announcements(ctx))
    announcements_send_due(ctx.now)  # what the job does every few minutes; the scheduled ones wait for their date


def _announcements(ctx: DemoContext) -> list[Announcement]:
    now = ctx.now.replace(second=0, microsecond=0)
    rows = []
    for city in ctx.cities.values():
        rows += [
            Announcement(
                unit=city,
                audience=Audience.EVERYONE,
                kind=AnnouncementKind.SELECTION,
                title=f"关于做好{now.year}年度{city.name}中小学教师继续教育选课工作的通知",
                body="各区（县）教育局、各学校：本年度全员培训选课已开放，请各校督促教师在截止前完成选课，"
                "学时不足的教师可在补选阶段增选课程。选课中遇到问题，请联系本区咨询联系人。",
                publish_at=now - dt.timedelta(days=7),
            ),
            Announcement(
                unit=city,
                audience=Audience.TEACHERS,
                kind=AnnouncementKind.CLASS_START,
                title=f"{city.name}{now.year}年度全员培训开班通知",
                body="选课结束后，线上课程即可开始学习；线下课程请按课程页面的时间和地点参加。",
                event_on=(now + dt.timedelta(days=21)).date(),
                publish_at=now + dt.timedelta(days=10),
            ),
        ]
    for districts in ctx.districts.values():
        district = districts[0]
        rows.append(
            Announcement(
                unit=district,
                audience=Audience.ADMINS,
                kind=AnnouncementKind.OTHER,
                title=f"{district.name}学校继续教育管理员名册核对提醒",
                body="请各校在选课截止前核对教师名册：调出、退休的教师及时标记，姓名和身份证号务必准确。",
                publish_at=now - dt.timedelta(days=2),
            )
        )
    return rows
