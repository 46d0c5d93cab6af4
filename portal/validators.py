import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from portal import idcard

_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def normalize_mobile(raw: object) -> str:
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    text = unicodedata.normalize("NFKC", str(raw))
    text = re.sub(r"[\s\-]", "", text)
    return text.removeprefix("+86")


def check_mobile(raw: object) -> str:
    """The normalized mobile number, or ValueError with a Chinese message."""
    number = normalize_mobile(raw)
    if number and not _MOBILE.match(number):
        raise ValueError(_("手机号码应为 1 开头的 11 位数字，现在是“%(value)s”") % {"value": number})
    return number


def validate_id_number(value: str) -> None:
    try:
        idcard.check(value)
    except idcard.IdNumberError as exc:
        raise ValidationError(str(exc), code="id_number") from None


def validate_mobile(value: str) -> None:
    try:
        check_mobile(value)
    except ValueError as exc:
        raise ValidationError(str(exc), code="mobile") from None
