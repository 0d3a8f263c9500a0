"""``FastSelect`` writes exactly the markup of Django's template-rendered ``Select``."""

import pytest
from django import forms

from leadflow.widgets import FastSelect
from leads.forms import BulkActionForm, InboxFilter
from leads.selectors import lead_assignable_owners, lead_list_for_inbox
from tests.factories import CampaignFactory, ReasonFactory, RepFactory

CHOICES = [("", "Any <source>"), ("a", "A & B"), ("Group", [(1, "one"), (2, 'two "2"')]), (3, "three")]


@pytest.mark.parametrize("value", [None, "", "a", 2, ["a", 3]])
@pytest.mark.parametrize("attrs", [{}, {"id": "id_x", "required": True, "disabled": False, "data-note": 'say "hi"'}])
def test_fast_select_matches_django_select(value, attrs):
    expected = forms.Select(choices=CHOICES, attrs=dict(attrs)).render("pick", value)

    assert FastSelect(choices=CHOICES, attrs=dict(attrs)).render("pick", value) == expected


@pytest.mark.django_db
def test_inbox_drop_downs_render_as_before(marketer):
    CampaignFactory.create_batch(3)
    RepFactory.create_batch(3)
    ReasonFactory.create_batch(2)
    filters = InboxFilter({"owner": ""}, queryset=lead_list_for_inbox(user=marketer)).form
    bulk = BulkActionForm(owners=lead_assignable_owners())

    for bound in (filters["source"], filters["campaign"], filters["owner"], bulk["owner"], bulk["disqualify_reason"]):
        widget = bound.field.widget
        assert isinstance(widget, FastSelect)
        plain = forms.Select(attrs=widget.attrs, choices=widget.choices)
        plain.is_required = widget.is_required
        attrs = bound.build_widget_attrs({"id": bound.auto_id})
        assert widget.render(bound.html_name, bound.value(), attrs) == plain.render(
            bound.html_name, bound.value(), attrs
        )


@pytest.mark.django_db
def test_inbox_drop_downs_read_their_choices_in_one_plain_query_each(marketer):
    """No ``COUNT(*)`` before the rows and no server-side cursor (``DECLARE``) for a drop-down's choices."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    CampaignFactory.create_batch(3)
    RepFactory.create_batch(3)
    ReasonFactory.create_batch(2)
    filters = InboxFilter({"owner": ""}, queryset=lead_list_for_inbox(user=marketer)).form
    bulk = BulkActionForm(owners=lead_assignable_owners())

    with CaptureQueriesContext(connection) as queries:
        html = [str(filters[name]) for name in ("source", "campaign", "owner")]
        html += [str(bulk["owner"]), str(bulk["disqualify_reason"])]

    sql = [query["sql"] for query in queries.captured_queries]
    assert len(sql) == 3  # the owner filter's users, the bulk bar's reps, the reasons (source, campaign: at init)
    assert not [statement for statement in sql if "COUNT(" in statement or "DECLARE" in statement]
    assert all("<option" in part for part in html)


ATTRS = [{}, {"id": "id_x", "required": True, "disabled": False, "placeholder": 'say "hi" & <go>', "step": 1}]
INPUTS = [forms.TextInput, forms.NumberInput, forms.EmailInput, forms.DateInput, forms.HiddenInput, forms.CheckboxInput]


@pytest.mark.parametrize("widget_class", INPUTS)
@pytest.mark.parametrize("value", [None, "", "a <b> & 'c'", 42, True])
@pytest.mark.parametrize("attrs", ATTRS)
def test_fast_form_renderer_writes_inputs_as_django(widget_class, value, attrs):
    from django.forms.renderers import DjangoTemplates

    from leadflow.widgets import FastFormRenderer

    widget = widget_class(attrs=dict(attrs))
    expected = widget.render("field", value, renderer=DjangoTemplates())

    assert widget.render("field", value, renderer=FastFormRenderer()) == expected


@pytest.mark.parametrize("widget_class", [forms.CheckboxSelectMultiple, forms.RadioSelect])
@pytest.mark.parametrize("value", [None, ["a"], ["a", "3"]])
@pytest.mark.parametrize("attrs", ATTRS)
def test_fast_form_renderer_writes_each_choice_as_django(widget_class, value, attrs):
    """The inbox's stage filter renders each box alone (``choice.tag``), and whole lists elsewhere."""
    from django.forms.renderers import DjangoTemplates

    from leadflow.widgets import FastFormRenderer

    choices = [("a", "A & B"), ("b", "<b>"), ("3", 'three "3"')]

    def rendered(renderer: object) -> tuple:
        form = forms.Form(initial={"pick": value}, renderer=renderer)
        form.fields["pick"] = forms.MultipleChoiceField(choices=choices, widget=widget_class(attrs=dict(attrs)))
        bound = form["pick"]
        return str(bound), [choice.tag() for choice in bound], [str(choice) for choice in bound]

    assert rendered(FastFormRenderer()) == rendered(DjangoTemplates())
