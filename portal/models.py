"""The organisation tree (city → district → school), people and their roles."""

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal import idcard
from portal.text import NameField
from portal.validators import validate_id_number, validate_mobile


class Stage(models.Model):
    """A school stage (学段): 幼儿园, 小学, 初中, 高中, 中职, 特殊教育 — data, so a city can add one."""

    code = models.SlugField(_("代码"), max_length=20, unique=True)
    name = models.CharField(_("名称"), max_length=20, unique=True)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)
    compulsory = models.BooleanField(_("义务教育"), default=False)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("学段")
        verbose_name_plural = _("学段")

    def __str__(self) -> str:
        return self.name


class UnitKind(models.TextChoices):
    CITY = "city", _("市")
    DISTRICT = "district", _("区（县级）")
    SCHOOL = "school", _("学校")
    CENTER = "center", _("教师发展中心")
    OTHER = "other", _("其他单位")


EMPLOYER_KINDS = (UnitKind.SCHOOL, UnitKind.CENTER, UnitKind.OTHER)


class DistrictType(models.TextChoices):
    DISTRICT = "district", _("区")
    COUNTY_CITY = "county_city", _("县级市")
    COUNTY = "county", _("县")
    ZONE = "zone", _("功能区")


class Ownership(models.TextChoices):
    PUBLIC = "public", _("公办")
    PRIVATE = "private", _("民办")


unit_code_validator = RegexValidator(r"^[A-Za-z0-9_-]+$", _("单位代码只能包含字母、数字、下划线和连字符"))


class Unit(models.Model):
    """A node of the organisation tree.

    ``path`` is the chain of codes from the city down ("/440100/440104/S001/"),
    so "is X inside Y" is ``X.is_within(Y)`` (a prefix test) and a whole subtree is
    one indexed prefix query, however many schools the city has.
    """

    code = models.CharField(_("单位代码"), max_length=32, unique=True, validators=[unit_code_validator])
    name = NameField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=10, choices=UnitKind.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("上级单位"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=255, editable=False, db_index=True)
    district_type = models.CharField(_("区县类型"), max_length=12, choices=DistrictType.choices, blank=True)
    ownership = models.CharField(_("办学性质"), max_length=10, choices=Ownership.choices, blank=True)
    stages = models.ManyToManyField(Stage, verbose_name=_("学段"), blank=True, related_name="units")
    is_active = models.BooleanField(_("有效"), default=True)

    class Meta:
        ordering = ["path"]
        verbose_name = _("单位")
        verbose_name_plural = _("单位")
        indexes = [
            models.Index(fields=["path"], name="unit_path_prefix", opclasses=["varchar_pattern_ops"]),
            # The cities (a score of rows among thousands): the review queue of a reach too big to list by ids.
            models.Index(fields=["id"], condition=Q(kind=UnitKind.CITY), name="unit_cities"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind=UnitKind.CITY, parent__isnull=True) | ~Q(kind=UnitKind.CITY),
                name="unit_city_is_root",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.path = self.compute_path()
        super().save(*args, **kwargs)

    def compute_path(self) -> str:
        prefix = self.parent.path if self.parent_id else "/"
        return f"{prefix}{self.code}/"

    def is_within(self, other: "Unit") -> bool:
        """Whether this unit is ``other`` or lies below it: a prefix test, no query."""
        return self.path.startswith(other.path)

    @property
    def city_code(self) -> str:
        return self.path.split("/")[1]

    def ancestor_paths(self) -> list[str]:
        parts = self.path.strip("/").split("/")
        return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]

    def ancestor_of_kind(self, kind: str) -> "Unit | None":
        """The closest unit of ``kind`` on the way up, self included (one query)."""
        if self.kind == kind:
            return self
        return Unit.objects.filter(path__in=self.ancestor_paths(), kind=kind).order_by("-path").first()


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, id_number, password=None, **extra):
        user = self.model(id_number=idcard.normalize(id_number), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, id_number, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(id_number, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """Everybody logs in with the ID number (身份证号) and a password."""

    id_number = models.CharField(_("身份证号"), max_length=18, unique=True, validators=[validate_id_number])
    name = NameField(_("姓名"), max_length=50)
    email = models.EmailField(_("电子邮箱"), blank=True)
    mobile = models.CharField(_("手机号码"), max_length=11, blank=True, validators=[validate_mobile])
    is_active = models.BooleanField(_("有效"), default=True)
    is_staff = models.BooleanField(_("可进入后台"), default=False)
    is_operator = models.BooleanField(
        _("平台运营"),
        default=False,
        help_text=_("省级中心或运维方：建立城市及其首位市级管理员，维护全平台的设置；不因此看到任何城市的个人信息"),
    )
    must_change_password = models.BooleanField(
        _("须修改密码"),
        default=False,
        help_text=_("密码由他人设置（管理员、批量开通、演示数据）：本人下次登录时须先修改密码"),
    )
    date_joined = models.DateTimeField(_("创建时间"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "id_number"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return f"{self.name}（{idcard.mask(self.id_number)}）"

    def get_full_name(self) -> str:
        return self.name

    def get_short_name(self) -> str:
        return self.name


class Role(models.TextChoices):
    TEACHER = "teacher", _("教师")
    SCHOOL_ADMIN = "school_admin", _("学校管理员")
    DISTRICT_ADMIN = "district_admin", _("区级管理员")
    CITY_ADMIN = "city_admin", _("市级管理员")
    PROVIDER = "provider", _("施教机构")
    OPERATOR = "operator", _("平台运营")


ADMIN_ROLES = (Role.SCHOOL_ADMIN, Role.DISTRICT_ADMIN, Role.CITY_ADMIN)
ROLE_UNIT_KINDS = {
    Role.SCHOOL_ADMIN: EMPLOYER_KINDS,
    Role.DISTRICT_ADMIN: (UnitKind.DISTRICT,),
    Role.CITY_ADMIN: (UnitKind.CITY,),
}


class RoleAssignment(models.Model):
    """An administrative role held over a unit and everything below it.

    The teacher role comes from a Teacher record, provider staff from
    courses.ProviderStaff; one person may hold several roles.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField(_("角色"), max_length=20, choices=[(r.value, r.label) for r in ADMIN_ROLES])
    unit = models.ForeignKey(Unit, verbose_name=_("单位"), on_delete=models.CASCADE, related_name="role_assignments")

    class Meta:
        verbose_name = _("管理角色")
        verbose_name_plural = _("管理角色")
        constraints = [models.UniqueConstraint(fields=["user", "role", "unit"], name="role_assignment_unique")]

    def __str__(self) -> str:
        return f"{self.user.name} · {self.get_role_display()} · {self.unit}"

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.unit_id and self.unit.kind not in ROLE_UNIT_KINDS[Role(self.role)]:
            raise ValidationError(
                {
                    "unit": _("%(role)s 不能设在%(kind)s上")
                    % {"role": self.get_role_display(), "kind": self.unit.get_kind_display()}
                }
            )


class TeacherStatus(models.TextChoices):
    ACTIVE = "active", _("在职")
    TRANSFERRED = "transferred", _("调出")
    RETIRED = "retired", _("退休")


class Position(models.TextChoices):
    PRINCIPAL = "principal", _("校长")
    VICE_PRINCIPAL = "vice_principal", _("副校长")
    MIDDLE = "middle", _("中层干部")
    TEACHER = "teacher", _("教师")
    LAB = "lab", _("实验教师")
    LAB_ADMIN = "lab_admin", _("实验管理员")
    OTHER = "other", _("其他")


class Gender(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")


class Teacher(models.Model):
    """A teacher on a unit's roster. Gender and birth date come from the ID number."""

    name = NameField(_("姓名"), max_length=50)
    id_number = models.CharField(_("身份证号"), max_length=18, unique=True, validators=[validate_id_number])
    gender = models.CharField(_("性别"), max_length=1, choices=Gender.choices, editable=False)
    birth_date = models.DateField(_("出生日期"), editable=False)
    unit = models.ForeignKey(Unit, verbose_name=_("单位"), on_delete=models.PROTECT, related_name="teachers")
    stage = models.ForeignKey(Stage, verbose_name=_("学段"), null=True, blank=True, on_delete=models.PROTECT)
    subject = models.CharField(_("任教学科"), max_length=30, blank=True)
    position = models.CharField(_("职务"), max_length=20, choices=Position.choices, default=Position.TEACHER)
    mobile = models.CharField(_("手机号码"), max_length=11, blank=True, validators=[validate_mobile])
    status = models.CharField(_("状态"), max_length=12, choices=TeacherStatus.choices, default=TeacherStatus.ACTIVE)
    status_date = models.DateField(_("状态变更日期"), null=True, blank=True)
    user = models.OneToOneField(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="teacher")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        ordering = ["unit__path", "name", "id"]
        verbose_name = _("教师")
        verbose_name_plural = _("教师")
        indexes = [models.Index(fields=["unit", "status"], name="teacher_unit_status")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.derive_from_id_number()
        super().save(*args, **kwargs)

    def derive_from_id_number(self) -> None:
        parsed = idcard.check(self.id_number)
        self.id_number, self.gender, self.birth_date = parsed.number, parsed.gender, parsed.birth_date

    @property
    def masked_id_number(self) -> str:
        return idcard.mask(self.id_number)

    @property
    def is_active(self) -> bool:
        return self.status == TeacherStatus.ACTIVE


class TeacherMove(models.Model):
    """History of a teacher's transfers; earlier records stay with the teacher."""

    teacher = models.ForeignKey(Teacher, on_delete=models.CASCADE, related_name="moves")
    from_unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    to_unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("状态"), max_length=12, choices=TeacherStatus.choices)
    date = models.DateField(_("日期"))
    recorded_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name = _("教师变动记录")
        verbose_name_plural = _("教师变动记录")

    def __str__(self) -> str:
        return f"{self.teacher} · {self.get_status_display()} · {self.date:%Y-%m-%d}"


class Notification(models.Model):
    """A message in a user's in-app inbox (the background-work issue adds e-mail and preferences)."""

    # No index of its own: notification_unread (user, read_at) starts with it and serves the inbox.
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications", db_index=False)
    kind = models.CharField(_("类型"), max_length=40)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    url = models.CharField(_("链接"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)
    # "Once per person per occasion": senders that must not repeat pass a key.
    dedup_key = models.CharField(max_length=200, null=True, blank=True)
    # Set when the e-mail copy was claimed for sending; a second delivery attempt then does nothing.
    emailed_at = models.DateTimeField(_("邮件发送时间"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        indexes = [models.Index(fields=["user", "read_at"], name="notification_unread")]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "dedup_key"], name="notification_dedup", condition=Q(dedup_key__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return self.title


class NotificationPreference(models.Model):
    """Whether a user wants notifications of one kind by e-mail too (the inbox always gets them).

    No row means no e-mail: e-mail is opt-in per kind.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notification_preferences")
    kind = models.CharField(_("通知类型"), max_length=40)
    email = models.BooleanField(_("发送邮件"), default=False)

    class Meta:
        verbose_name = _("通知偏好")
        verbose_name_plural = _("通知偏好")
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_unique")]

    def __str__(self) -> str:
        return f"{self.user.name} · {self.kind} · {self.email}"


class ReminderDate(models.Model):
    """A date on which a city reminds its teachers who are still short of hours (e.g. 11-01, 12-01).

    Data, so a city admin adds or moves dates in the admin without code.
    """

    city = models.ForeignKey(
        Unit,
        verbose_name=_("城市"),
        on_delete=models.CASCADE,
        related_name="reminder_dates",
        limit_choices_to={"kind": UnitKind.CITY},
    )
    date = models.DateField(_("提醒日期"))
    note = models.CharField(_("说明"), max_length=100, blank=True)

    class Meta:
        ordering = ["city", "date"]
        verbose_name = _("学时提醒日期")
        verbose_name_plural = _("学时提醒日期")
        constraints = [models.UniqueConstraint(fields=["city", "date"], name="reminder_date_unique")]

    def __str__(self) -> str:
        return f"{self.city} · {self.date:%Y-%m-%d}"


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("生成中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")
    EXPIRED = "expired", _("已过期")


EXPORT_ACTIVE_STATES = (ExportStatus.QUEUED, ExportStatus.RUNNING)


class ExportJob(models.Model):
    """A long export (city-wide roster, compliance list) written by a worker; the user comes back for the file."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="export_jobs")
    kind = models.CharField(_("导出类型"), max_length=40)
    params = models.JSONField(_("参数"), default=dict, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(_("进度(%)"), default=0)
    total = models.PositiveIntegerField(_("总行数"), null=True, blank=True)
    done_rows = models.PositiveIntegerField(_("已写行数"), default=0)
    file = models.FileField(_("文件"), upload_to="exports/%Y/%m/", blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    error = models.TextField(_("错误"), blank=True)
    # The unit paths the requester's roles reached when she asked: the file is hers only while
    # she still reaches them (portal.export_runner.export_job_downloadable).
    reach = models.JSONField(_("范围"), default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("导出任务")
        verbose_name_plural = _("导出任务")
        indexes = [models.Index(fields=["user", "-created_at"], name="export_job_user_recent")]

    def __str__(self) -> str:
        return f"{self.kind} · {self.user.name} · {self.get_status_display()}"

    @property
    def is_active(self) -> bool:
        return self.status in EXPORT_ACTIVE_STATES


class PersonalDataAccess(models.Model):
    """A page or file that showed whole 身份证号: who, when, for what, how many numbers.

    Written by ``portal.privacy.personal_data_access_record`` wherever a job needs the whole
    numbers (a provider's participant form, the city's final list); never changed afterwards.
    ``unit`` is whose people they were (a city, a school): its admins see the record.
    """

    user = models.ForeignKey(User, verbose_name=_("用户"), null=True, on_delete=models.SET_NULL, related_name="+")
    unit = models.ForeignKey(
        Unit, verbose_name=_("单位"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    user_name = models.CharField(_("姓名"), max_length=50)
    purpose = models.CharField(_("用途"), max_length=60)
    detail = models.CharField(_("内容"), max_length=200, blank=True)
    count = models.PositiveIntegerField(_("身份证号个数"))
    created_at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("身份证号完整查看记录")
        verbose_name_plural = _("身份证号完整查看记录")

    def __str__(self) -> str:
        return f"{self.user_name} · {self.purpose} · {self.count}"


class RosterConflictSource(models.TextChoices):
    IMPORT = "import", _("名册导入")
    EDIT = "edit", _("修改教师信息")


class RosterConflict(models.Model):
    """An import or edit refused because the ID number is already on another unit's roster.

    Kept for the district (区县; the city for city-direct units) over the unit that tried, whose
    admin arranges the transfer; the school itself was told no more than it may already see.
    One row per teacher and unit; a repeated refusal counts up.
    """

    teacher = models.ForeignKey(Teacher, verbose_name=_("教师"), on_delete=models.CASCADE, related_name="+")
    unit = models.ForeignKey(Unit, verbose_name=_("申请单位"), on_delete=models.CASCADE, related_name="+")
    district = models.ForeignKey(Unit, verbose_name=_("主管单位"), on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(User, verbose_name=_("操作人"), null=True, on_delete=models.SET_NULL, related_name="+")
    source = models.CharField(_("来源"), max_length=10, choices=RosterConflictSource.choices)
    first_at = models.DateTimeField(_("首次"))
    last_at = models.DateTimeField(_("最近"))
    attempts = models.PositiveIntegerField(_("次数"), default=1)

    class Meta:
        ordering = ["-last_at", "-id"]
        verbose_name = _("名册冲突")
        verbose_name_plural = _("名册冲突")
        constraints = [models.UniqueConstraint(fields=["teacher", "unit"], name="roster_conflict_unique")]
        indexes = [models.Index(fields=["district", "-last_at"], name="roster_conflict_district")]

    def __str__(self) -> str:
        return f"{self.unit} · {self.teacher}"


class Contact(models.Model):
    """Whom a district's (or the city's) teachers ask: the notices' attachment 3 (咨询联系人).

    Kept by the district's admins (and the city's); shown to the unit's teachers on their home
    page and the help page.
    """

    unit = models.ForeignKey(
        Unit,
        verbose_name=_("单位"),
        on_delete=models.CASCADE,
        related_name="contacts",
        limit_choices_to={"kind__in": (UnitKind.CITY, UnitKind.DISTRICT)},
    )
    name = models.CharField(_("联系人"), max_length=50)
    phone = models.CharField(_("联系电话"), max_length=40)
    duty = models.CharField(_("负责事项"), max_length=100, help_text=_("例如：选课咨询、专项培训报名、学时认定"))
    order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        ordering = ["unit__path", "order", "id"]
        verbose_name = _("咨询联系人")
        verbose_name_plural = _("咨询联系人")

    def __str__(self) -> str:
        return f"{self.unit} · {self.name}"


class AnnouncementKind(models.TextChoices):
    SELECTION = "selection", _("选课通知")
    CLASS_START = "class_start", _("开班通知")
    PROGRAMME_START = "programme_start", _("专项培训开班日期")
    OTHER = "other", _("其他通知")


class Audience(models.TextChoices):
    """Who an announcement concerns inside its unit; apps add their own (``portal.registry.register_audience``)."""

    EVERYONE = "everyone", _("全体教师和管理员")
    TEACHERS = "teachers", _("教师")
    ADMINS = "admins", _("各级管理员")


class Announcement(models.Model):
    """A city's or district's notice (选课通知, 开班通知, a programme's start date) with a publish date.

    From ``publish_at`` it shows on the home page of everyone it concerns, and the
    announcement job sends it to their inboxes once (``notified_at`` claims the sending;
    each message carries the dedup key ``announcement:<id>``).
    """

    unit = models.ForeignKey(
        Unit,
        verbose_name=_("发布范围"),
        on_delete=models.CASCADE,
        related_name="announcements",
        limit_choices_to={"kind__in": (UnitKind.CITY, UnitKind.DISTRICT)},
    )
    audience = models.CharField(_("通知对象"), max_length=40, default=Audience.EVERYONE)
    target_id = models.PositiveBigIntegerField(_("对象编号"), null=True, blank=True)
    kind = models.CharField(_("类别"), max_length=20, choices=AnnouncementKind.choices, default=AnnouncementKind.OTHER)
    title = models.CharField(_("标题"), max_length=120)
    body = models.TextField(_("正文"))
    event_on = models.DateField(_("开班（活动）日期"), null=True, blank=True)
    publish_at = models.DateTimeField(_("发布时间"))
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    notified_at = models.DateTimeField(_("通知发送时间"), null=True, blank=True)

    class Meta:
        ordering = ["-publish_at", "-id"]
        verbose_name = _("通知公告")
        verbose_name_plural = _("通知公告")
        indexes = [
            models.Index(fields=["unit", "publish_at"], name="announcement_unit_time"),
            models.Index(fields=["publish_at"], name="announcement_unsent", condition=Q(notified_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return self.title

    def is_published(self, now) -> bool:
        return self.publish_at <= now
