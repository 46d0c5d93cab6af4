"""The rule builder (city admins) and the platform's kinds and topics (the operator).

The builder shows a rule as rows; the stored JSON tree is never typed. With htmx the sentence
and the pass count follow every change (``rule_preview``); without JS the 预览 button does the same.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from credits import selectors, services
from credits.forms import CreditKindForm, GroupModesForm, RequirementFormSet, RuleCopyForm, RuleSetForm, TopicForm
from credits.models import CreditKind, RuleSet, Topic
from credits.rule_builder import NotBuildable, measure_choices, rows_from_tree, tree_from_rows
from credits.rule_engine import describe
from portal.converters import parse_id, parse_year
from portal.decorators import role_required
from portal.forms import add_errors
from portal.models import Role, Unit
from portal.scoping import get_visible_or_404, scope_for

BLANK_ROWS = 2
PREFIX = "rows"


def _cities(request: HttpRequest):
    ids = [u.pk for u in scope_for(request.user).units.get(Role.CITY_ADMIN, ())]
    return Unit.objects.filter(pk__in=ids).order_by("path")


def _measures() -> list:
    return measure_choices(
        list(CreditKind.objects.order_by("id").values_list("code", "name")),
        list(Topic.objects.order_by("id").values_list("code", "name")),
    )


@role_required(Role.CITY_ADMIN)
def rule_list(request: HttpRequest) -> HttpResponse:
    """The city's rule sets, each as its sentence, with the periods that use it."""
    today = timezone.localdate()
    rule_sets = selectors.rule_sets_managed_by(request.user).prefetch_related("periods").order_by("city", "-year")
    rows = []
    for rule_set in rule_sets:
        periods = list(rule_set.periods.all())
        closed = [p for p in periods if p.training_ends_on < today]
        rows.append((rule_set, describe(rule_set.tree), periods, bool(closed)))
    return render(request, "credits/setup/rule_list.html", {"rows": rows})


@dataclass
class Builder:
    """The builder's forms, bound or not, and what they make: the tree, its sentence, its pass count."""

    form: RuleSetForm
    modes: GroupModesForm
    rows: RequirementFormSet
    tree: dict | None = None
    sentence: str = ""
    count: selectors.PassCount | None = None
    errors: list[str] = field(default_factory=list)
    not_buildable: bool = False

    def valid(self) -> bool:
        return self.tree is not None


def _builder(request: HttpRequest, rule_set: RuleSet | None, data=None) -> Builder:
    measures = _measures()
    cities = _cities(request)
    if data is None:
        initial_rows, modes, combine, not_buildable = [], {}, "all_of", False
        source = rule_set or selectors.rule_sets_managed_by(request.user).order_by("-year").first()
        if source is not None:
            try:
                built = rows_from_tree(source.tree)
                combine, modes = built.combine, built.group_modes
                initial_rows = [asdict(r) for r in built.rows]
            except NotBuildable:
                not_buildable = True
        initial = {"combine": combine}
        if rule_set is None and source is not None:
            initial |= {"year": source.year + 1, "name": source.name.replace(str(source.year), str(source.year + 1))}
        return Builder(
            form=RuleSetForm(instance=rule_set, cities=cities, initial=initial),
            modes=GroupModesForm(prefix="modes", initial={f"group_{g}": m for g, m in modes.items()}),
            rows=RequirementFormSet(
                prefix=PREFIX,
                initial=initial_rows + [{} for _i in range(BLANK_ROWS)],
                form_kwargs={"measures": measures},
            ),
            not_buildable=not_buildable,
        )
    if "add_row" in data:
        data = data.copy()
        data[f"{PREFIX}-TOTAL_FORMS"] = str((parse_id(data.get(f"{PREFIX}-TOTAL_FORMS")) or 0) + 1)
    builder = Builder(
        form=RuleSetForm(data, instance=rule_set, cities=cities),
        modes=GroupModesForm(data, prefix="modes"),
        rows=RequirementFormSet(data, prefix=PREFIX, form_kwargs={"measures": measures}),
    )
    if builder.rows.is_valid() and builder.modes.is_valid():
        builder.tree = tree_from_rows(data.get("combine") or "all_of", builder.rows.rows, builder.modes.modes)
        builder.sentence = describe(builder.tree)
    else:
        builder.errors = [str(e) for e in builder.rows.non_form_errors()]
    city, year = _city_and_year(builder.form, rule_set)
    if builder.tree is not None and city is not None and year:
        builder.count = selectors.rule_pass_count(city, year - 1, builder.tree)
    return builder


def _city_and_year(form: RuleSetForm, rule_set: RuleSet | None) -> tuple[Unit | None, int | None]:
    """The city and year typed so far (before the whole form is valid), for the pass count."""
    city = rule_set.city if rule_set else None
    if city is None:
        cities = list(form.fields["in_city"].queryset)
        wanted = form.data.get("in_city") or (cities[0].pk if len(cities) == 1 else None)
        city = next((c for c in cities if str(c.pk) == str(wanted)), None)
    year = parse_year(form.data.get("year")) if form.data.get("year") else (rule_set.year if rule_set else None)
    return city, year


def _rule_or_404(request: HttpRequest, pk: int) -> RuleSet:
    return get_visible_or_404(selectors.rule_sets_managed_by(request.user), pk=pk)


@role_required(Role.CITY_ADMIN)
def rule_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    rule_set = _rule_or_404(request, pk) if pk else None
    now = timezone.now()
    closed = services.rule_set_closed_periods(rule_set, timezone.localdate(now)) if rule_set else []
    builder = _builder(request, rule_set, request.POST if request.method == "POST" else None)
    if request.method == "POST" and "save" in request.POST and builder.valid() and builder.form.is_valid():
        candidate = builder.form.save(commit=False)
        candidate.tree = builder.tree
        try:
            saved = services.rule_set_save(candidate, actor=request.user, now=now)
        except ValidationError as exc:
            add_errors(builder.form, exc)
        else:
            messages.success(request, _("学时规则“%(name)s”已保存。") % {"name": saved.name})
            return redirect("credits:rule_list")
    context = {
        "rule_set": rule_set,
        "b": builder,
        "closed": closed,
        "copy_form": RuleCopyForm(initial=_copy_initial(rule_set)) if rule_set else None,
        "stored_sentence": describe(rule_set.tree) if rule_set else "",
    }
    return render(request, "credits/setup/rule_edit.html", context)


def _copy_initial(rule_set: RuleSet) -> dict:
    year = rule_set.year + 1
    return {"year": year, "name": rule_set.name.replace(str(rule_set.year), str(year))}


@role_required(Role.CITY_ADMIN)
@require_POST
def rule_preview(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """The sentence and the pass count of the rule as the builder holds it now (htmx; nothing is saved)."""
    rule_set = _rule_or_404(request, pk) if pk else None
    return render(request, "credits/setup/rule_edit.html#preview", {"b": _builder(request, rule_set, request.POST)})


@role_required(Role.CITY_ADMIN)
@require_POST
def rule_copy(request: HttpRequest, pk: int) -> HttpResponse:
    rule_set = _rule_or_404(request, pk)
    form = RuleCopyForm(request.POST)
    if form.is_valid():
        try:
            copy = services.rule_set_copy(rule_set, actor=request.user, now=timezone.now(), **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("已复制为“%(name)s”，可以修改了。") % {"name": copy.name})
            return redirect("credits:rule_edit", copy.pk)
    else:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    return redirect("credits:rule_edit", rule_set.pk)


# --- the operator: kinds of hours and topics ----------------------------------------------------------------------


@role_required(Role.OPERATOR)
def catalogue_settings(request: HttpRequest) -> HttpResponse:
    """Topics (专题) and kinds of hours (学时类型): what every city's rules and courses may name."""
    topic_pk, kind_pk = parse_id(request.GET.get("topic")), parse_id(request.GET.get("kind"))
    topic = get_visible_or_404(Topic.objects.all(), pk=topic_pk) if topic_pk else None
    kind = get_visible_or_404(CreditKind.objects.all(), pk=kind_pk) if kind_pk else None
    which = request.POST.get("form")
    topic_form = TopicForm(request.POST if which == "topic" else None, instance=topic, prefix="topic")
    kind_form = CreditKindForm(request.POST if which == "kind" else None, instance=kind, prefix="kind")
    form, save = {"topic": (topic_form, services.topic_save), "kind": (kind_form, services.credit_kind_save)}.get(
        which or "", (None, None)
    )
    if request.method == "POST" and form is not None and save is not None and form.is_valid():
        try:
            saved = save(form.save(commit=False), actor=request.user)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("“%(name)s”已保存。") % {"name": saved.name})
            return redirect("credits:catalogue_settings")
    return render(
        request,
        "credits/setup/catalogue_settings.html",
        {
            "topics": Topic.objects.all(),
            "kinds": CreditKind.objects.all(),
            "topic_form": topic_form,
            "kind_form": kind_form,
            "topic": topic,
            "kind": kind,
        },
    )
