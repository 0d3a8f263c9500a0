"""One world per test module, built once and rolled back at the end: users of every role, an object of
each kind the URLs point at (the rep's own where a rule is per object), and a signed-in client per role.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client, override_settings
from django.utils import timezone
from rest_framework.authtoken.models import Token

from dedupe.models import DuplicateCandidate
from dedupe.services import lead_merge
from leads.imports import import_job_upload
from leads.models import AuditEvent, LeadDefinition, Reason, SavedView, Stage, Submission
from routing.models import Notification, OverflowEntry
from tests.access.table import ADMIN, ANON, KEY, MKT, OTHER, REP, World
from tests.factories import (
    AccountFactory,
    CampaignFactory,
    ContactFactory,
    LeadDefinitionFactory,
    LeadFactory,
    OpportunityFactory,
    RepFactory,
    SourceFactory,
    TerritoryFactory,
    TerritoryMembershipFactory,
    UserFactory,
)

PASSWORD = "correct-horse-battery"


def build_world() -> World:
    w = World()
    o = w.objects
    o["rep"] = RepFactory(user__username="rick").user
    o["other_rep"] = RepFactory(user__username="olga").user
    o["marketer"] = UserFactory(username="mara", roles=["marketing"])
    # Like the demo's ada: an admin of the marketing side, so she may approve a draft too.
    o["admin"] = UserFactory(username="ada", roles=["admin", "marketing"])
    o["sales_admin"] = UserFactory(username="sam", roles=["admin", "sales"])
    o["root"] = UserFactory(username="root", is_staff=True, is_superuser=True)

    LeadDefinitionFactory(version=1, author=o["admin"])
    o["draft"] = LeadDefinitionFactory(
        version=2, status=LeadDefinition.Status.DRAFT, published_at=None, author=o["admin"], note="Draft"
    )
    web = o["web"] = SourceFactory(name="Web form", slug="web")
    web_key = web.set_new_api_key()
    web.save()
    partner = o["partner"] = SourceFactory(name="Partner", slug="partner")
    w.key_headers = {"X-Source-Key": partner.set_new_api_key()}
    partner.save()
    o["web_key"] = web_key
    campaign = o["campaign"] = CampaignFactory(source=web, slug="spring")

    rep, other = o["rep"], o["other_rep"]
    now = timezone.now()
    due = now + datetime.timedelta(hours=4)
    o["mql"] = LeadFactory(
        source=web, stage=Stage.MQL, owner=rep, score=80, assigned_at=now, sla_due_at=due, email="mql@acme1.example"
    )
    o["sal"] = LeadFactory(source=web, stage=Stage.SAL, owner=rep, score=80, assigned_at=now, accepted_at=now)
    o["opportunity"] = OpportunityFactory(lead__source=web, lead__owner=rep, owner=rep)
    o["free"] = LeadFactory(source=web, stage=Stage.MQL, score=90)
    OverflowEntry.objects.create(lead=o["free"], score=90)
    o["new"] = LeadFactory(source=web, stage=Stage.NEW, score=10)
    o["other_lead"] = LeadFactory(source=web, stage=Stage.MQL, owner=other, assigned_at=now, sla_due_at=due)
    # A pair in the review queue, and a merge that may be undone.
    a = LeadFactory(source=web, first_name="Robert", last_name="Smith", email="rob@acme.example", company="Acme")
    b = LeadFactory(source=web, first_name="Bob", last_name="Smith", email="rob@acme.example", company="Acme")
    o["pair"] = DuplicateCandidate.objects.create(lead_a=a, lead_b=b, score=0.9, reasons=["same e-mail"])
    c = LeadFactory(source=web, first_name="Ann", last_name="Lee", email="ann@lee.example")
    d = LeadFactory(source=web, first_name="Anne", last_name="Lee", email="ann@lee.example")
    o["merge"] = lead_merge(survivor=c, merged=d, actor=o["marketer"])
    # A lead the partner's key sent in: the one kind of lead that key may report activities on.
    o["partner_lead"] = LeadFactory(source=partner, stage=Stage.NEW, email="pat@partner.example")
    o["twin"] = LeadFactory(source=web, stage=Stage.NEW, email=o["new"].email, first_name=o["new"].first_name)

    # The rep's own account: they may add and change its contacts; another rep may not.
    o["account"] = AccountFactory(owner=rep)
    o["contact"] = ContactFactory(account=o["account"])
    o["territory"] = TerritoryFactory(slug="east", name="East")
    TerritoryMembershipFactory(territory=o["territory"], rep=rep.rep)
    o["reason"] = Reason.objects.create(kind=Reason.Kind.LOST, label="Went quiet", position=99)
    o["lost_reason"] = Reason.objects.filter(kind=Reason.Kind.LOST, is_active=True).first()
    o["notification"] = Notification.objects.create(user=rep, kind="sla_escalated", title="SLA lapsed", lead=o["mql"])
    o["saved_view"] = SavedView.objects.create(owner=o["marketer"], name="Hot", query="score_min=80")
    o["submission"] = Submission.objects.create(source=web, lead=o["new"], payload={"email": o["new"].email})
    upload = SimpleUploadedFile("fair.csv", b"email,first_name\nann@fair.example,Ann\n", content_type="text/csv")
    o["import_job"] = import_job_upload(source=web, upload=upload, user=o["marketer"], campaign=campaign)
    o["audit_event"] = AuditEvent.objects.order_by("pk").first()
    Token.objects.create(user=rep)

    w.ids = {
        "mql": o["mql"].pk,
        "sal": o["sal"].pk,
        "opp_lead": o["opportunity"].lead_id,
        "opportunity": o["opportunity"].pk,
        "free": o["free"].pk,
        "new": o["new"].pk,
        "twin": o["twin"].pk,
        "other_lead": o["other_lead"].pk,
        "pair": o["pair"].pk,
        "merge": o["merge"].pk,
        "account": o["account"].pk,
        "contact": o["contact"].pk,
        "source": web.slug,
        "campaign": campaign.slug,
        "territory": o["territory"].slug,
        "rep_profile": rep.rep.pk,
        "reason": o["reason"].pk,
        "notification": o["notification"].pk,
        "saved_view": o["saved_view"].pk,
        "submission": o["submission"].pk,
        "import_job": o["import_job"].pk,
        "audit_event": o["audit_event"].pk if o["audit_event"] else 0,
        "draft": o["draft"].version,
        "published": 1,
    }
    return w


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[World]:
    """Built once per module inside a transaction that is rolled back when the module is done.

    Uploads go to a temporary MEDIA_ROOT for the module only: a setting changed for good would send
    later tests' files where their real worker processes do not look.
    """
    media_root = str(tmp_path_factory.mktemp("media"))
    with override_settings(MEDIA_ROOT=media_root), django_db_blocker.unblock(), transaction.atomic():
        built = build_world()
        built.objects["clients"] = _clients(built)
        yield built
        transaction.set_rollback(True)


def _clients(world: World) -> dict[str, Client]:
    clients = {ANON: Client(), KEY: Client()}
    for role, user in ((REP, world.rep), (OTHER, world.other_rep), (MKT, world.marketer), (ADMIN, world.admin)):
        clients[role] = Client()
        clients[role].force_login(user)
    return clients


@pytest.fixture
def clients(world, db) -> dict[str, Client]:
    return world.clients
