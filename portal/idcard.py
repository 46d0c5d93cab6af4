"""Resident ID numbers (居民身份证号码, GB 11643-1999).

``normalize`` turns what people type or Excel stores into the canonical form;
``check`` says in Chinese what is wrong with it, or returns the parsed facts.
"""

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from django.utils.translation import gettext as _

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
_SHAPE = re.compile(r"^\d{17}[\dX]$")


class IdNumberError(ValueError):
    """The message is a complete Chinese sentence telling the user what to fix."""


@dataclass(frozen=True)
class IdNumber:
    number: str
    birth_date: dt.date
    gender: str  # "M" or "F"


def check_digit(first17: str) -> str:
    return CHECK_CHARS[sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True)) % 11]


def normalize(raw: object) -> str:
    """Canonical text: full-width folded, spaces removed, trailing x upper-cased.

    Excel often keeps an ID typed into a number cell as a float (4.4e17);
    such a value has lost its last digits and is returned as written so that
    ``check`` reports it.
    """
    if raw is None:
        return ""
    if isinstance(raw, float):
        raw = repr(raw) if not raw.is_integer() or raw >= 1e15 else str(int(raw))
    text = unicodedata.normalize("NFKC", str(raw))
    text = re.sub(r"\s+", "", text)
    return text.upper()


def check(raw: object, today: dt.date | None = None) -> IdNumber:
    number = normalize(raw)
    if isinstance(raw, float) and raw >= 1e15:
        raise IdNumberError(
            _("身份证号被 Excel 存成了数字，后几位已丢失（%(value)s）；请把该列设为文本格式后重新填写")
            % {"value": number}
        )
    if not number:
        raise IdNumberError(_("身份证号不能为空"))
    if len(number) == 15 and number.isdigit():
        raise IdNumberError(_("这是 15 位的旧身份证号，请改填 18 位的新号码"))
    if len(number) != 18:
        raise IdNumberError(_("身份证号应为 18 位，现在是 %(count)d 位，请核对") % {"count": len(number)})
    if not _SHAPE.match(number):
        raise IdNumberError(_("身份证号前 17 位必须是数字，最后一位是数字或 X"))
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdNumberError(
            _("身份证号中的出生日期 %(date)s 不存在，请核对第 7 至 14 位") % {"date": number[6:14]}
        ) from None
    today = today or dt.date.today()
    if birth.year < 1900 or birth > today:
        raise IdNumberError(_("身份证号中的出生日期 %(date)s 不合理，请核对第 7 至 14 位") % {"date": number[6:14]})
    expected = check_digit(number[:17])
    if number[17] != expected:
        raise IdNumberError(_("身份证号校验位错误（最后一位应为 %(digit)s），请核对号码是否抄错") % {"digit": expected})
    return IdNumber(number=number, birth_date=birth, gender="M" if int(number[16]) % 2 else "F")


def mask(number: str) -> str:
    """440106********123X: area code and the last four stay visible."""
    if len(number) != 18:
        return number
    return number[:6] + "*" * 8 + number[14:]


def make(area: str, birth: dt.date, sequence: int) -> str:
    """A valid number for demo and test data (sequence 0..999; odd = male)."""
    first17 = f"{area}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_digit(first17)
