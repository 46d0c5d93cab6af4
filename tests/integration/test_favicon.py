from pathlib import Path

from django.contrib.staticfiles import finders


def test_favicon_ico_answers_anyone_with_the_static_icon(client):
    response = client.get("/favicon.ico")

    assert (response.status_code, response["Location"]) == (301, "/static/img/favicon.ico")
    assert Path(finders.find("img/favicon.ico")).read_bytes()[:4] == b"\x00\x00\x01\x00"  # an ICO file
