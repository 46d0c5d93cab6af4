from portal.models import Unit


def unit(path: str) -> Unit:
    return Unit(code=path.strip("/").rsplit("/", 1)[-1], path=path)


def test_is_within_its_ancestors_and_itself():
    school = unit("/4401/440106/S001/")

    assert [school.is_within(unit(p)) for p in ("/4401/", "/4401/440106/", "/4401/440106/S001/")] == [True] * 3


def test_is_within_is_not_fooled_by_a_code_that_starts_the_same():
    assert unit("/4401/4401061/S9/").is_within(unit("/4401/440106/")) is False
    assert unit("/44010/").is_within(unit("/4401/")) is False


def test_ancestor_is_not_within_its_descendant():
    assert unit("/4401/").is_within(unit("/4401/440106/")) is False
