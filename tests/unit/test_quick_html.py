from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy
from hypothesis import given
from hypothesis import strategies as st

from portal.html import quick_html, quick_html_join

VALUES = st.one_of(
    st.text(),
    st.integers(),
    st.none(),
    st.text().map(mark_safe),
    st.sampled_from([gettext_lazy("全部单位"), mark_safe("<b>粗</b>"), "<script>\"&'</script>", 1.5]),
)


@given(st.lists(VALUES, min_size=1, max_size=4))
def test_quick_html_writes_what_format_html_writes(values):
    template = '<a title="{}">' + "{}" * (len(values) - 1) + "</a>"
    written = quick_html(template, *values)
    assert written == format_html(template, *values)
    assert isinstance(written, SafeString)


@given(st.lists(st.tuples(VALUES, VALUES), max_size=5), VALUES)
def test_quick_html_join_and_keywords_write_what_django_writes(rows, value):
    assert quick_html_join("\n", "<li>{}{}</li>", rows) == format_html_join("\n", "<li>{}{}</li>", rows)
    assert quick_html("<p>{x}</p>", x=value) == format_html("<p>{x}</p>", x=value)


def test_text_is_escaped_and_safe_text_is_not():
    assert quick_html("<p>{}{}</p>", '<i>"&', mark_safe("<b>")) == "<p>&lt;i&gt;&quot;&amp;<b></p>"
