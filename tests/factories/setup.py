"""A second city with one of everything a set-up form could offer: the objects no form of the first city may show."""

from dataclasses import dataclass

from courses.models import Provider, TrainingPeriod
from credits.models import RuleSet
from enrollment.models import Programme
from portal.models import Announcement, Contact, Role, Unit, User
from tests.factories.courses import PeriodFactory, ProviderFactory
from tests.factories.enrollment import programme_with_chain
from tests.factories.portal import CityFactory, DistrictFactory, SchoolFactory, admin_user


@dataclass
class OtherCity:
    city: Unit
    district: Unit
    school: Unit
    admin: User
    period: TrainingPeriod
    rule_set: RuleSet
    provider: Provider
    programme: Programme
    contact: Contact
    announcement: Announcement

    @property
    def names(self) -> list[str]:
        """Names that appear nowhere in the first city's pages (each is unique to this city)."""
        return [
            self.city.name,
            self.district.name,
            self.school.name,
            self.period.name,
            self.rule_set.name,
            self.provider.name,
            self.programme.title,
            self.contact.name,
            self.announcement.title,
        ]


def other_city(publish_at) -> OtherCity:
    city = CityFactory(name="乙市")
    district = DistrictFactory(parent=city, name="乙市东区")
    school = SchoolFactory(parent=district, name="乙市东区第一中学")
    period = PeriodFactory(city=city, name="乙市2022期", rule_set__name="乙市学时规则")
    provider = ProviderFactory(name="乙市教师进修学院", code="YI-PROV")
    provider.cities.add(city)
    programme = programme_with_chain(city, period=period, title="乙市骨干教师培训", quotas={district: 3})
    contact = Contact.objects.create(unit=district, name="乙市联系人", phone="0000-1", duty="选课")
    announcement = Announcement.objects.create(unit=city, title="乙市选课通知", body="乙市", publish_at=publish_at)
    return OtherCity(
        city=city,
        district=district,
        school=school,
        admin=admin_user(Role.CITY_ADMIN, city, name="乙市管理员"),
        period=period,
        rule_set=period.rule_set,
        provider=provider,
        programme=programme,
        contact=contact,
        announcement=announcement,
    )
