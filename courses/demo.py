"""Demo data for the course supermarket, called by `manage.py load_demo` after the organisation tree
and the rule sets (credits/demo.py) exist.

Periods: Guangzhou 2201 with the notice's real dates (selection 2022-03-15 to 03-29, of which
03-26 to 03-29 is the late phase 补选 where adding is allowed and dropping is not; training
04-20 to 06-20), Maoming 2024 (2024-08-01 to 12-31, at most 4 yuan per hour), and for each city a
current period whose selection window is open on ``ctx.now`` (opened 7 days before, closing 14 days
after, the last 4 of them 补选).
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from zoneinfo import ZoneInfo

from courses.models import (
    Course,
    CourseMode,
    CourseSelection,
    CourseSession,
    CourseStatus,
    Provider,
    ProviderStaff,
    TrainingPeriod,
)
from credits.models import CreditKind, RuleSet, Topic
from portal import idcard
from portal.demo import DEMO_PASSWORD
from portal.models import Stage, User

SHANGHAI = ZoneInfo("Asia/Shanghai")

PROVIDERS = [
    ("BNUZH", "北京师范大学珠海校区", "陈老师", "0756-3683000"),
    ("GZOU", "广州开放大学", "高老师", "020-83481101"),
    ("TEACHERONLINE", "中国教师研修网（北京尚睿通教育科技股份有限公司）", "郑老师", "400-0096930"),
    ("GDEI", "广东第二师范学院", "姜老师", "020-89003000"),
    ("NAEA", "国家教育行政学院", "林老师", "010-69248800"),
    ("SCNU", "华南师范大学", "关老师", "020-85211000"),
]

# (title, topic codes, stage codes or () for all, description)
PUBLIC = [
    (
        "新时代师德师风建设与教师职业行为十项准则",
        ["ethics"],
        (),
        "结合典型案例解读教师职业行为十项准则，筑牢师德底线。",
    ),
    ("“双减”政策解读与学校落实路径", ["shuangjian"], (), "解读“双减”文件精神，分享作业管理与课后服务的区域经验。"),
    ("红色教育：广州红色革命史迹与思政育人", ["red"], (), "走进农讲所、黄埔军校旧址，把红色资源转化为育人资源。"),
    ("信息技术应用能力提升工程2.0：整校推进与能力点测评", ["it20"], (), "围绕 30 个微能力点，完成校本应用考核。"),
    ("教师心理健康与压力调适", ["mental"], (), "认识职业倦怠，掌握情绪调节与压力管理的方法。"),
    ("依法执教：教育法律法规与校园安全", [], (), "教师法、未成年人保护法要点与校园安全事故处理。"),
    ("数字素养与人工智能时代的教师", ["digital"], (), "生成式人工智能在教学中的合理使用与伦理边界。"),
    ("习近平总书记关于教育的重要论述学习", ["ethics", "red"], (), "系统学习教育强国建设的重要论述。"),
]
PROFESSIONAL = [
    (
        "新课标背景下的大单元教学设计",
        ["curriculum"],
        ("primary", "junior", "senior"),
        "以大概念统领单元，设计真实情境任务。",
    ),
    ("初中数学核心素养与课堂教学改进", ["curriculum"], ("junior",), "从运算能力到推理意识：课堂提问与评价设计。"),
    ("小学语文整本书阅读教学策略", [], ("primary",), "整本书阅读的导读、推进与展示课型。"),
    ("高中物理实验探究教学", [], ("senior",), "数字化实验与探究性学习的课堂组织。"),
    (
        "英语学习活动观与课堂实践",
        ["curriculum"],
        ("primary", "junior", "senior"),
        "学习理解、应用实践、迁移创新三类活动设计。",
    ),
    ("幼儿园游戏化教学与观察记录", ["preschool"], ("kindergarten",), "自主游戏中的观察、记录与支持策略。"),
    ("作业设计与“双减”提质增效", ["shuangjian"], ("primary", "junior"), "分层作业、跨学科作业与作业时间管理。"),
    ("校本教研的组织与实施", ["school-research"], (), "以课例研究为载体的校本教研活动设计。"),
    ("教育科研课题申报与论文写作", ["research"], (), "从问题到课题：选题、论证与成果表达。"),
    ("班主任工作与育人能力提升", ["nurture", "mental"], (), "班集体建设、家校沟通与学生心理危机识别。"),
    ("跨学科主题学习设计与实施", ["curriculum"], ("primary", "junior"), "跨学科主题学习的目标、任务与评价。"),
    (
        "信息科技课程标准解读与教学",
        ["it20", "digital"],
        ("primary", "junior"),
        "义务教育信息科技课程的内容模块与教学建议。",
    ),
    ("融合教育与特殊需要学生支持", [], ("special", "primary"), "随班就读学生的个别化教育计划。"),
    ("中职专业课程思政与实训教学", [], ("vocational",), "专业课程中的思政元素挖掘与实训组织。"),
    ("科学探究与实验教学能力提升", [], ("primary", "junior"), "小学科学、初中理化生实验教学规范。"),
    ("高中思想政治议题式教学", ["red"], ("senior",), "议题式教学的议题选择与活动设计。"),
]
ELECTIVE = [
    ("书法与汉字文化", [], (), "硬笔、毛笔书写规范与汉字文化欣赏。"),
    ("教师礼仪与沟通艺术", [], (), "课堂语言、仪态与沟通技巧。"),
    ("岭南文化与地方课程开发", [], (), "粤剧、广绣、骑楼：地方课程资源开发。"),
    ("音乐欣赏与美育浸润", [], (), "经典音乐作品赏析与学校美育活动。"),
    ("教师健康与运动处方", ["mental"], (), "常见职业病预防与科学锻炼。"),
    ("微课设计与短视频制作", ["it20"], (), "微课脚本、录制与剪辑实操。"),
    ("劳动教育课程设计", [], ("primary", "junior"), "校园劳动、家务劳动与社会实践的课程化。"),
    ("家校共育与家长沟通", ["nurture"], (), "家长会、家访与家校冲突化解。"),
    ("中华优秀传统文化经典诵读", [], (), "经典诵读与传统节日课程。"),
    ("阅读推广与教师读书会", [], (), "组织教师读书会与书香校园建设。"),
    ("校园足球与体育特色课程", [], ("primary", "junior"), "校园足球训练组织与体育特色课程建设。"),
    ("科技创新教育与创客实践", ["digital"], ("primary", "junior", "senior"), "开源硬件、编程与创客空间活动设计。"),
    ("生命教育与安全教育", ["mental"], (), "生命教育课程与防溺水、交通安全教育。"),
    ("粤语童谣与岭南民俗", ["preschool"], ("kindergarten", "primary"), "粤语童谣、岭南节庆民俗进课堂。"),
]
# Maoming 2024: rotation online training modules (全员轮训网络研修) and ordinary remote courses.
MAOMING_ROTATION = [
    ("全员轮训：师德师风", ["ethics"]),
    ("全员轮训：心理健康", ["mental"]),
    ("全员轮训：育人能力", ["nurture"]),
    ("全员轮训：数字素养", ["digital"]),
    ("全员轮训：学前教育", ["preschool"]),
    ("全员轮训：新课标新课堂", ["curriculum"]),
    ("全员轮训：“双减”背景下学科素养", ["shuangjian"]),
    ("全员轮训：校本教研", ["school-research"]),
    ("全员轮训：科研能力", ["research"]),
]
CAPACITIES = [30, 40, 50, 60, 80, 100, 150, 200, 300, None, None, None]


def _at(year: int, month: int, day: int, hour: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=SHANGHAI)


def load(ctx) -> None:
    """Providers with one staff login each, four periods, ~40 courses per period, and some selections."""
    rng: random.Random = ctx.rng
    providers = _providers()
    gz, mm = ctx.cities["440100"], ctx.cities["440900"]
    periods = [
        TrainingPeriod.objects.create(
            city=gz,
            year=2022,
            code="2201",
            name="广州市中小学教师2201期全员培训",
            rule_set=_rule_set(gz, 2022),
            selection_opens_at=_at(2022, 3, 15),
            selection_closes_at=_at(2022, 3, 30),
            late_opens_at=_at(2022, 3, 26),
            late_closes_at=_at(2022, 3, 30),
            drop_allowed_in_late=False,
            training_starts_on=dt.date(2022, 4, 20),
            training_ends_on=dt.date(2022, 6, 20),
        ),
        TrainingPeriod.objects.create(
            city=mm,
            year=2024,
            code="MM2024",
            name="茂名市2024年专业科目远程培训",
            rule_set=_rule_set(mm, 2024),
            max_fee_per_hour=Decimal("4.00"),
            selection_opens_at=_at(2024, 8, 1),
            selection_closes_at=_at(2025, 1, 1),
            training_starts_on=dt.date(2024, 8, 1),
            training_ends_on=dt.date(2024, 12, 31),
        ),
    ]
    now = ctx.now.astimezone(SHANGHAI)
    opens = dt.datetime.combine(now.date() - dt.timedelta(days=7), dt.time(), tzinfo=SHANGHAI)
    closes = opens + dt.timedelta(days=22)
    current = [
        TrainingPeriod.objects.create(
            city=city,
            year=now.year,
            code=f"{prefix}{now:%y}01",
            name=f"{city.name}{now.year}年度{label}",
            rule_set=_rule_set(city, now.year),
            max_fee_per_hour=fee,
            selection_opens_at=opens,
            selection_closes_at=closes,
            late_opens_at=closes - dt.timedelta(days=4),
            late_closes_at=closes,
            drop_allowed_in_late=False,
            training_starts_on=(closes + dt.timedelta(days=20)).date(),
            training_ends_on=(closes + dt.timedelta(days=80)).date(),
        )
        for city, prefix, label, fee in ((gz, "", "全员培训", None), (mm, "MM", "专业科目远程培训", Decimal("4.00")))
    ]
    for period in [*periods, *current]:
        if period.city_id == mm.pk:
            _maoming_courses(rng, period, providers)
        else:
            _guangzhou_courses(rng, period, providers)
    for period in current:
        _demo_selections(ctx, period)
    for provider in providers:
        provider.cities.set(set(provider.courses.values_list("period__city_id", flat=True)))


def _rule_set(city, year: int) -> RuleSet | None:
    return RuleSet.objects.filter(city=city, year=year).first()


def _providers() -> list[Provider]:
    providers = []
    for n, (code, name, contact, phone) in enumerate(PROVIDERS):
        provider = Provider.objects.create(code=code, name=name, contact_name=contact, contact_phone=phone)
        user = User(
            id_number=idcard.make("440103", dt.date(1986, 3, 1) + dt.timedelta(days=n), 600 + n), name=f"{name}培训部"
        )
        user.set_password(DEMO_PASSWORD)
        user.save()
        ProviderStaff.objects.create(provider=provider, user=user)
        providers.append(provider)
    return providers


def _topics() -> dict[str, Topic]:
    return {t.code: t for t in Topic.objects.all()}


def _stages() -> dict[str, Stage]:
    return {s.code: s for s in Stage.objects.all()}


def _make_course(
    period, code, title, category, hours, provider, mode, capacity, fee, description, topics, stages, kind=None
) -> Course:
    course = Course.objects.create(
        period=period,
        code=code,
        title=title,
        category=category,
        hours=Decimal(hours),
        provider=provider,
        mode=mode,
        capacity=capacity,
        fee_per_hour=Decimal(fee),
        description=description,
        status=CourseStatus.PUBLISHED,
        kind=kind,
    )
    course.topics.set(topics)
    course.stages.set(stages)
    return course


def _guangzhou_courses(rng: random.Random, period: TrainingPeriod, providers: list[Provider]) -> None:
    topics, stages = _topics(), _stages()
    n = 0
    catalogue = [
        ("public", PUBLIC, ["6", "10", "12", "15"]),
        ("professional", PROFESSIONAL, ["6", "8", "12", "18"]),
        ("elective", ELECTIVE, ["3", "4.5", "6", "9"]),
    ]
    for category, titles, hour_choices in catalogue:
        for title, topic_codes, stage_codes, description in titles:
            n += 1
            mode = CourseMode.ONLINE if n % 7 else rng.choice([CourseMode.OFFLINE, CourseMode.MIXED])
            fee = "0" if category == "public" else rng.choice(["0", "2", "3", "5"])
            course = _make_course(
                period,
                f"{period.code}-{n:03d}",
                title,
                category,
                rng.choice(hour_choices),
                rng.choice(providers),
                mode,
                rng.choice(CAPACITIES) if mode == CourseMode.ONLINE else rng.choice([30, 40, 60]),
                fee,
                description,
                [topics[c] for c in topic_codes if c in topics],
                [stages[c] for c in stage_codes if c in stages],
            )
            if mode != CourseMode.ONLINE:
                _sessions(rng, course, period)
    # Two offline workshops on the same afternoon, so the overlap refusal can be tried in the demo.
    day = period.training_starts_on + dt.timedelta(days=5)
    for k, (title, place) in enumerate(
        [
            ("课堂观察工作坊（线下）", "广州市教师发展中心 301 室"),
            ("教学评一致性工作坊（线下）", "天河区教师发展中心 报告厅"),
        ]
    ):
        n += 1
        course = _make_course(
            period,
            f"{period.code}-{n:03d}",
            title,
            "professional",
            "6",
            providers[k],
            CourseMode.OFFLINE,
            30,
            "0",
            "半天工作坊，需到场参加。",
            [],
            [],
        )
        CourseSession.objects.create(
            course=course, date=day, starts_at=dt.time(14, 0 + 30 * k), ends_at=dt.time(17, 30), place=place
        )


def _sessions(rng: random.Random, course: Course, period: TrainingPeriod) -> None:
    start = period.training_starts_on + dt.timedelta(days=rng.randrange(0, 30))
    CourseSession.objects.bulk_create(
        [
            CourseSession(
                course=course,
                date=start + dt.timedelta(days=7 * i),
                starts_at=dt.time(9, 0),
                ends_at=dt.time(12, 0),
                place=rng.choice(["广州市教师发展中心", "广东第二师范学院 教学楼 A201", "越秀区教育发展研究院"]),
            )
            for i in range(2)
        ]
    )


def _maoming_courses(rng: random.Random, period: TrainingPeriod, providers: list[Provider]) -> None:
    topics, stages = _topics(), _stages()
    kinds = {k.code: k for k in CreditKind.objects.all()}
    n = 0
    for provider in providers[:4]:
        for title, topic_codes in MAOMING_ROTATION:
            n += 1
            if n % 4 == 0 and "学前" not in title:
                continue
            _make_course(
                period,
                f"{period.code}-{n:03d}",
                f"{title}（{provider.name}）",
                "professional",
                rng.choice(["10", "12", "15", "20"]),
                provider,
                CourseMode.ONLINE,
                rng.choice(CAPACITIES),
                rng.choice(["2", "3", "3.5", "4"]),
                "全员轮训网络研修模块，累计满 60 学时即完成年度专业科目任务。",
                [topics[c] for c in topic_codes if c in topics],
                [stages["kindergarten"]] if "学前" in title else [],
                kind=kinds.get("rotation"),
            )
    for title, topic_codes, stage_codes, description in PROFESSIONAL[:12]:
        n += 1
        _make_course(
            period,
            f"{period.code}-{n:03d}",
            f"{title}（远程）",
            "professional",
            rng.choice(["6", "8", "10", "12"]),
            rng.choice(providers[:5]),  # the five the Maoming notice names
            CourseMode.ONLINE,
            rng.choice(CAPACITIES),
            rng.choice(["2", "3", "4"]),
            description,
            [topics[c] for c in topic_codes if c in topics] + ([topics["ethics"]] if n % 5 == 0 else []),
            [stages[c] for c in stage_codes if c in stages],
            kind=kinds.get("ordinary"),
        )


def _demo_selections(ctx, period: TrainingPeriod) -> None:
    """Half the city's active teachers already picked a few courses; the demo teacher login too, but not enough."""
    rng: random.Random = ctx.rng
    courses = list(Course.objects.filter(period=period, mode=CourseMode.ONLINE))
    teachers = [t for t in ctx.teachers[period.city.code] if t.is_active]
    login_teachers = [t for t in teachers if t.user_id]
    taken: dict[int, int] = {}
    rows = []
    when = period.selection_opens_at + dt.timedelta(hours=9)
    for teacher in teachers[::2] + [t for t in login_teachers if t not in teachers[::2]]:
        picks = rng.sample(courses, k=min(len(courses), 2 if teacher.user_id else rng.randint(1, 5)))
        for course in picks:
            if course.capacity is not None and taken.get(course.pk, 0) >= course.capacity:
                continue
            taken[course.pk] = taken.get(course.pk, 0) + 1
            rows.append(CourseSelection(teacher=teacher, course=course, period=period, selected_at=when))
    CourseSelection.objects.bulk_create(rows)
    by_pk = {c.pk: c for c in courses}
    for pk, n in taken.items():
        by_pk[pk].enrolled_count = n
    Course.objects.bulk_update([by_pk[pk] for pk in taken], ["enrolled_count"])
