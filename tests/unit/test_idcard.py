import datetime as dt

import pytest

from portal import idcard

VALID = "11010519491231002X"  # the example number of GB 11643


def test_check_valid_number_derives_birth_and_gender():
    parsed = idcard.check(VALID)
    assert parsed == idcard.IdNumber(number=VALID, birth_date=dt.date(1949, 12, 31), gender="F")


def test_check_accepts_lowercase_x_and_fullwidth_and_spaces():
    assert idcard.check(" １１０１０５１９４９１２３１００２x ").number == VALID


def test_check_wrong_check_digit_names_the_right_one():
    with pytest.raises(idcard.IdNumberError, match="最后一位应为 X"):
        idcard.check("110105194912310021")


def test_check_impossible_birth_date():
    number = "110105194902300021"
    first17 = number[:17]
    with pytest.raises(idcard.IdNumberError, match="19490230 不存在"):
        idcard.check(first17 + idcard.check_digit(first17))


def test_check_future_birth_date_refused():
    first17 = "11010520990101002"
    with pytest.raises(idcard.IdNumberError, match="不合理"):
        idcard.check(first17 + idcard.check_digit(first17), today=dt.date(2026, 11, 21))


def test_check_legacy_15_digit_number_gets_a_clear_message():
    with pytest.raises(idcard.IdNumberError, match="15 位的旧身份证号"):
        idcard.check("110105491231002")


def test_check_number_mangled_by_excel_says_so():
    with pytest.raises(idcard.IdNumberError, match="存成了数字"):
        idcard.check(4.40106199001011e17)


def test_check_integer_cell_is_accepted():
    assert idcard.check(440106199001011200).number == "440106199001011200"


def test_check_wrong_length():
    with pytest.raises(idcard.IdNumberError, match="现在是 17 位"):
        idcard.check("11010519491231002")


def test_mask_keeps_area_and_last_four():
    assert idcard.mask(VALID) == "110105********002X"


def test_make_produces_valid_numbers():
    number = idcard.make("440106", dt.date(1990, 5, 17), 123)
    assert idcard.check(number).birth_date == dt.date(1990, 5, 17)
    assert idcard.check(number).gender == "M"
