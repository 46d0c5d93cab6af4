import datetime as dt

import factory

from portal import idcard
from portal.models import Role, RoleAssignment, Stage, Teacher, Unit, UnitKind, User

_seq = iter(range(10**6))


def id_number(area: str = "440106") -> str:
    """A fresh valid ID number (unique within a test run)."""
    n = next(_seq)
    return idcard.make(area, dt.date(1970, 1, 1) + dt.timedelta(days=n // 1000), n % 1000)


class CityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit

    code = factory.Sequence(lambda n: f"C{n:04d}")
    name = factory.Sequence(lambda n: f"城市{n}")
    kind = UnitKind.CITY


class DistrictFactory(CityFactory):
    code = factory.Sequence(lambda n: f"D{n:04d}")
    name = factory.Sequence(lambda n: f"区{n}")
    kind = UnitKind.DISTRICT
    parent = factory.SubFactory(CityFactory)


class SchoolFactory(CityFactory):
    code = factory.Sequence(lambda n: f"S{n:05d}")
    name = factory.Sequence(lambda n: f"学校{n}")
    kind = UnitKind.SCHOOL
    parent = factory.SubFactory(DistrictFactory)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    id_number = factory.LazyFunction(id_number)
    name = factory.Sequence(lambda n: f"用户{n}")
    password = factory.django.Password("pw-123456")


class TeacherFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Teacher

    name = factory.Sequence(lambda n: f"教师{n}")
    id_number = factory.LazyFunction(id_number)
    unit = factory.SubFactory(SchoolFactory)
    stage = factory.LazyFunction(lambda: Stage.objects.get(code="junior"))
    subject = "数学"
    mobile = "13800138000"


def teacher_user(**kwargs) -> User:
    """A teacher with a login."""
    teacher = TeacherFactory(**kwargs)
    user = UserFactory(id_number=teacher.id_number, name=teacher.name)
    teacher.user = user
    teacher.save(update_fields=["user"])
    return user


def admin_user(role: Role, unit: Unit, **kwargs) -> User:
    user = UserFactory(**kwargs)
    RoleAssignment.objects.create(user=user, role=role, unit=unit)
    return user
