"""Reads: statements and reports scoped to the caller (one rule: `visible_to` / `managed_by`)."""

from __future__ import annotations

from django.utils.translation import gettext

from core.exceptions import Invalid
from core.scoping import get_manageable, get_visible
from statements.models import Statement


def statements_list(*, user, member: str | None = None, community: str | None = None,
                    month: str | None = None):
    """The caller's visible statements; `member` (a membership id) and `community` must be
    ones the caller may see, else `Invalid` (never a hint about other tenants' rows)."""
    from communities.models import Community, Membership

    qs = Statement.objects.visible_to(user).select_related("community", "user")
    if member:
        if not str(member).isdigit() or not Membership.objects.visible_to(user).filter(pk=member).exists():
            raise Invalid(gettext("Unknown member."), details={"member": ["invalid_choice"]})
        qs = qs.filter(membership_id=member)
    if community:
        visible = Community.objects.visible_to(user)
        if not str(community).isdigit() or not visible.filter(pk=community).exists():
            raise Invalid(gettext("Unknown community."), details={"community": ["invalid_choice"]})
        qs = qs.filter(community_id=community)
    if month:
        import re

        if not re.fullmatch(r"\d{4}-\d{2}", month):
            raise Invalid(gettext("The month is YYYY-MM."), details={"month": ["invalid"]})
        qs = qs.filter(month=f"{month}-01")
    return qs


def statement_get(*, user, statement_id: int) -> Statement:
    return get_visible(Statement.objects.select_related("community", "user"), user, pk=statement_id)


def last_statement(*, user) -> Statement | None:
    """The member's own newest statement (the home card)."""
    return Statement.objects.visible_to(user).filter(user=user).select_related("community").first()


def run_for_report(*, user, run_id: int):
    """A posted run whose community the caller manages: a member of it gets `Forbidden`."""
    from settlement.models import RunStatus, SettlementRun

    run = get_manageable(SettlementRun.objects.select_related("period__community"), user, pk=run_id,
                         message=gettext("Only the community's referents can download its report."))
    if run.status != RunStatus.POSTED:
        raise Invalid(gettext("The run is not posted yet."), details={"run": ["not_posted"]})
    return run


def community_for_report(*, user, community_id: int):
    from communities.models import Community

    return get_manageable(Community.objects.all(), user, pk=community_id,
                          message=gettext("Only the community's referents can download its report."))


def reports_available(*, user) -> list:
    """Posted runs of the communities the caller manages (the portal's report links)."""
    from settlement.models import RunStatus, SettlementRun

    return list(SettlementRun.objects.managed_by(user).filter(status=RunStatus.POSTED)
                .select_related("period__community").order_by("-period__month", "-number")[:50])
