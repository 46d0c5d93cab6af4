import re
from pathlib import Path

from django.urls import reverse

PO = Path(__file__).resolve().parents[2] / "portal/locale/en/LC_MESSAGES/django.po"


def test_login_page_in_english_when_the_browser_asks_for_it(client):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en")

    assert response["Content-Language"] == "en"
    assert "Log in" in response.content.decode()


def test_login_page_in_chinese_by_default(client):
    response = client.get(reverse("login"))

    assert response["Content-Language"] == "zh-hans"
    assert "登录继教通" in response.content.decode()


def test_english_catalogue_has_no_empty_or_fuzzy_entry():
    text = PO.read_text(encoding="utf-8")
    entries = text.split("\n\n")[1:]  # the first block is the header

    empty = [e for e in entries if re.search(r'^msgstr(\[0\])? ""\n(?!")', e + "\n", re.M)]
    fuzzy = [e for e in entries if "#, fuzzy" in e]

    assert (empty, fuzzy) == ([], [])
