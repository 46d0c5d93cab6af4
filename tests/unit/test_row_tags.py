from django import forms
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation

from portal.forms import LongSelect
from portal.models import Gender, Teacher, TeacherStatus


def _render(source: str, **context) -> str:
    return Template("{% load rows %}" + source).render(Context(context))


def test_id_url_is_the_reversed_url():
    for pk in (1, 42, 9_000_000_001):
        assert _render("{% id_url 'portal:teacher_detail' pk %}", pk=pk) == reverse("portal:teacher_detail", args=[pk])


def test_choice_label_is_the_display_in_each_language():
    teacher = Teacher(gender=Gender.FEMALE, status=TeacherStatus.RETIRED)
    for language in ("zh-hans", "en"):
        with translation.override(language):
            rendered = _render('{{ t|choice_label:"gender" }} {{ t|choice_label:"status" }}', t=teacher)
            assert rendered == f"{teacher.get_gender_display()} {teacher.get_status_display()}"


def test_choice_label_of_a_value_outside_the_choices_is_the_value():
    assert _render('{{ t|choice_label:"status" }}', t=Teacher(status="odd")) == "odd"


def test_long_select_renders_as_djangos_select():
    class Form(forms.Form):
        unit = forms.ChoiceField(
            choices=[("", "全部"), ("1", "A<校>"), ("2", "B校")], widget=LongSelect, required=False
        )

    class Plain(forms.Form):
        unit = forms.ChoiceField(choices=[("", "全部"), ("1", "A<校>"), ("2", "B校")], required=False)

    ours, django = str(Form({"unit": "2"})["unit"]), str(Plain({"unit": "2"})["unit"])

    assert " ".join(ours.split()) == " ".join(django.split())
    assert '<option value="2" selected>B校</option>' in ours
    assert "A&lt;校&gt;" in ours


def test_nav_links_marks_the_current_page_and_escapes_labels(rf):
    from django.template import Context
    from django.urls import resolve

    from portal.registry import NavItem
    from portal.templatetags.rows import nav_links

    request = rf.get("/portal/roster/")
    request.resolver_match = resolve("/portal/roster/")
    items = [NavItem("教师名册", "portal:roster", ()), NavItem("<b>首页</b>", "home", ())]

    html = nav_links(Context({"request": request}), items)

    assert html == (
        '<li class="nav-item"><a class="nav-link active" href="/portal/roster/">教师名册</a></li>\n'
        '<li class="nav-item"><a class="nav-link" href="/">&lt;b&gt;首页&lt;/b&gt;</a></li>'
    )


def test_light_fields_write_label_control_help_and_errors_escaped():
    from django import forms

    from portal.forms import light_fields

    class Form(forms.Form):
        q = forms.CharField(label="姓名", help_text="<i>提示</i>", max_length=3)
        note = forms.CharField(label="说明", widget=forms.Textarea(attrs={"rows": 2}), required=False)

    form = light_fields(Form({"q": '"<x>"&long', "note": "<b>"}))
    form.is_valid()

    assert form["q"].as_field_group() == (
        '<div class="mb-3"><label class="form-label" for="id_q">姓名</label>'
        '<input type="text" name="q" value="&quot;&lt;x&gt;&quot;&amp;long" '
        'aria-describedby="id_q_helptext id_q_error" aria-invalid="true" class="form-control" id="id_q" maxlength="3" '
        "required>"
        '<div class="form-text" id="id_q_helptext">&lt;i&gt;提示&lt;/i&gt;</div>'
        '<div id="id_q_error"><div class="invalid-feedback d-block">'
        "确保该变量包含不超过 3 字符 (目前字符数 10)。</div></div>"
        "</div>"
    )
    assert (
        str(form["note"])
        == '<textarea name="note" class="form-control" cols="40" id="id_note" rows="2">\n&lt;b&gt;</textarea>'
    )


def test_review_rows_head_each_school_once_and_escape_names():
    import datetime as dt
    from collections import namedtuple

    from enrollment.models import ProgrammeLevel
    from enrollment.selectors import REVIEW_COLUMNS
    from enrollment.templatetags.applications import review_rows

    at = dt.datetime(2026, 3, 2, 1, 30, tzinfo=dt.UTC)  # 09:30 in Shanghai
    level = ProgrammeLevel(pk=5, unit_kind="school")

    def application(pk, school_id, name):
        values = {
            "pk": pk,
            "school_id": school_id,
            "level_id": level.pk,
            "state": "submitted",
            "deadline": at,
            "submitted_at": at,
            "teacher__name": name,
            "teacher__id_number": "440106198506150021",
            "teacher__position": "teacher",
            "teacher__stage__name": None,
            "school__name": f"{school_id}校",
            "district__name": "天河区",
        }
        return namedtuple("Row", REVIEW_COLUMNS)(**values)

    rows = [application(1, 7, "<张>"), application(2, 7, "李"), application(3, 8, "王")]
    html = review_rows(rows, True, at - dt.timedelta(hours=1), [level])

    assert html.count('scope="rowgroup"') == 2
    assert "天河区 · 7校" in html and "天河区 · 8校" in html
    assert "&lt;张&gt;" in html and "<张>" not in html
    assert "440106********0021" in html and "198506150021" not in html
    assert html.count("03-02 09:30") == 6
    assert html.count("待学校审核") == 3
    # Past its deadline, a waiting application shows as expired (worked out in Python, not by the query).
    late = review_rows(rows, True, at + dt.timedelta(seconds=1), [level])
    assert late.count("待学校审核") == 0 and late.count("text-bg-secondary") == 3


def test_programme_options_select_the_chosen_one_and_escape_titles():
    from types import SimpleNamespace as Row

    from enrollment.templatetags.applications import programme_options

    period = Row(name="2026年度")
    programmes = [Row(pk=1, title="<校长>培训", period=period), Row(pk=2, title="骨干教师", period=period)]

    assert programme_options(programmes, programmes[1]) == (
        '<option value="1">&lt;校长&gt;培训（2026年度）</option>'
        '<option value="2" selected>骨干教师（2026年度）</option>'
    )
