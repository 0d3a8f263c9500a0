"""The inbox rows ``{% inbox_rows %}`` writes in Python are the markup of the template loop they replaced."""

import pytest
from django.template import Context, Template

from leads.models import Stage
from leads.selectors import lead_list_for_inbox
from tests.factories import CampaignFactory, LeadFactory

#: The loop as ``templates/leads/_inbox_results.html`` had it before ``inbox_rows`` (its long lines kept verbatim).
TEMPLATE_LOOP = """{% load humanize %}{% for lead in leads %}
        <tr data-lead-id="{{ lead.pk }}">
          {% if bulk_form %}
          <td class="cell-check">
            <input type="checkbox" name="lead" value="{{ lead.pk }}" data-bulk-row{% if lead.pk in selected_ids %} checked{% endif %}
                   aria-label="Select {{ lead.full_name|default:lead.email|default:'this lead' }}">
          </td>
          {% endif %}
          <td class="cell-main">
            <a class="strong" href="{% url 'leads:detail' lead.pk %}">{{ lead.full_name|default:"(no name)" }}</a>
            <div class="sub">{{ lead.email|default:"no e-mail" }}</div>
          </td>
          <td data-label="Company">
            {{ lead.company|default:"—" }}
            {% if lead.company_domain %}<div class="sub">{{ lead.company_domain }}</div>{% endif %}
          </td>
          <td data-label="Source">
            {{ lead.source.name }}
            {% if lead.campaign %}<div class="sub">{{ lead.campaign.name }}</div>{% endif %}
          </td>
          <td data-label="Stage">
            <span class="badge stage stage-{{ lead.stage }}">{{ lead.get_stage_display }}</span>
            {% if lead.junk_reason and not show_junk_reason %}<div class="sub">{{ lead.junk_reason }}</div>{% endif %}
          </td>
          {% if show_junk_reason %}
          <td data-label="Junk reason" class="junk-reason-cell">{{ lead.junk_reason|default:"—" }}</td>
          {% endif %}
          <td class="num"><span class="score">{{ lead.score }}</span></td>
          <td data-label="Owner">{% if lead.owner %}{{ lead.owner.get_full_name|default:lead.owner.get_username }}{% else %}<span class="muted">Unowned</span>{% endif %}</td>
          <td class="nowrap" data-label="Created"><time datetime="{{ lead.created_at|date:'c' }}" title="{{ lead.created_at|naturaltime }}">{{ lead.created_at|date:"M j, H:i" }}</time></td>
        </tr>
        {% endfor %}"""  # noqa: E501


@pytest.mark.django_db
@pytest.mark.parametrize("bulk_form", [None, "a form"])
@pytest.mark.parametrize("show_junk_reason", [False, True])
def test_inbox_rows_write_what_the_template_loop_wrote(marketer, rep, bulk_form, show_junk_reason):
    LeadFactory(first_name="Ann <b>", last_name="O'Neil & co", company="", company_domain="", campaign=None)
    LeadFactory(first_name="", last_name="", email="", owner=rep, campaign=CampaignFactory(name='Spring "24"'))
    junk = LeadFactory(stage=Stage.JUNK, junk_reason="competitor <rival>", score=7)
    leads = list(lead_list_for_inbox(user=marketer))
    context = {"leads": leads, "bulk_form": bulk_form, "selected_ids": {junk.pk},
               "show_junk_reason": show_junk_reason}  # fmt: skip

    rows = Template("{% load row_tags %}{% inbox_rows leads %}").render(Context(context))

    assert len(leads) == 3
    assert rows == Template(TEMPLATE_LOOP).render(Context(context))
