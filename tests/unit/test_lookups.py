import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from portal.lookups import IdIn
from portal.models import Unit
from tests.factories.portal import DistrictFactory, SchoolFactory

pytestmark = pytest.mark.django_db


def test_id_in_finds_the_rows_in_finds():
    district, other = DistrictFactory(), DistrictFactory()
    schools = [SchoolFactory(parent=district) for _ in range(3)] + [SchoolFactory(parent=other)]
    ids = [schools[0].pk, schools[2].pk, schools[3].pk, 10**9]

    found = Unit.objects.filter(IdIn("id", ids)).values_list("pk", flat=True)
    assert sorted(found) == sorted(Unit.objects.filter(pk__in=ids).values_list("pk", flat=True))
    assert sorted(found) == sorted([schools[0].pk, schools[2].pk, schools[3].pk])
    by_parent = Unit.objects.filter(IdIn("parent_id", [district.pk])).values_list("pk", flat=True)
    assert sorted(by_parent) == sorted(s.pk for s in schools[:3])


def test_id_in_sends_the_list_as_one_array_on_postgresql():
    ids = list(range(1, 501))
    sql, params = Unit.objects.filter(IdIn("parent_id", ids)).query.sql_with_params()
    if connection.vendor == "postgresql":
        assert "= ANY(%s)" in sql and params == (ids,)
    else:
        assert params == tuple(ids)


def test_an_empty_list_matches_nothing_and_alone_runs_no_query():
    school = SchoolFactory()
    with CaptureQueriesContext(connection) as queries:
        assert list(Unit.objects.filter(IdIn("id", []))) == []
    assert len(queries) == 0
    either = Unit.objects.filter(Q(IdIn("id", [])) | Q(pk=school.pk))
    assert list(either.values_list("pk", flat=True)) == [school.pk]
