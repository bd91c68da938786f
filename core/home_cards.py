"""The home's card slots: one function per card, registered for the member or the referent home.

A card function takes the request and returns None while its feature is absent (or has
nothing to show), else a dict: {"template": "<app>/_card_<name>.html", "context": {...}}.
The home renders the registered cards in order, each in its own slot (`data-card=<name>`).

Another app fills a slot by replacing the body of its function here (or registering a new
one with `@card("member", "name")`), returning its template and context; the home itself
does not change. The functions below are the slots the money and notification issues bring:
each checks that its feature exists and stays hidden until then.
"""

from collections.abc import Callable
from importlib.util import find_spec

from django.urls import NoReverseMatch, reverse

CARDS: dict[str, list[tuple[str, Callable]]] = {"member": [], "referent": []}


def card(home: str, name: str):
    def register(fn):
        CARDS[home].append((name, fn))
        return fn
    return register


def feature_exists(url_name: str = "", module: str = "") -> bool:
    """True when the feature's page (URL name) or module is installed."""
    if module:
        try:
            if find_spec(module) is None:
                return False
        except ModuleNotFoundError:
            return False
    if url_name:
        try:
            reverse(url_name)
        except NoReverseMatch:
            return False
    return True


def render_cards(home: str, request) -> list[dict]:
    """[{"name", "template", "context"}] of the cards that have something to show."""
    out = []
    for name, fn in CARDS[home]:
        result = fn(request)
        if result:
            out.append({"name": name, **result})
    return out


@card("member", "wallet_balance")
def wallet_balance(request):
    """Slot: the member's wallet balance (billing wallet issue). Hidden until it lands."""
    if not feature_exists(url_name="billing:wallet", module="billing.wallet"):
        return None
    return None  # the billing issue returns {"template": "billing/_card_wallet.html", ...}


@card("member", "last_statement")
def last_statement(request):
    """Slot: the member's last statement (statements app); hidden until they have one."""
    if not feature_exists(url_name="statements:list", module="statements"):
        return None
    from django.utils.translation import gettext as _

    from statements import formats
    from statements.selectors import last_statement as newest

    statement = newest(user=request.user)
    if statement is None:
        return None
    return {"template": "portal/_card.html", "context": {
        "title": _("Last statement"), "value": formats.money(statement.total_eur),
        "unit": statement.community.currency,
        "note": f"{statement.community.name} · {formats.month(statement.month)}",
        "link": reverse("statements:detail", args=[statement.pk]), "link_text": _("Open the statement"),
    }}


@card("referent", "settlement")
def settlement(request):
    """Slot: the community's latest settlement run (settlement app): what the last settled
    month brought (the GSE advance, or the paid lines for other regimes) and, while a run
    awaits the referent, a link to decide it. Hidden before the first run."""
    if not feature_exists(module="settlement"):
        return None
    from decimal import Decimal

    from django.db.models import Sum
    from django.utils.translation import gettext as _

    from core.home import managed_communities
    from settlement.models import RunKind, RunStatus, SettlementLine, SettlementRun
    from settlement.selectors import stale_true_ups
    from settlement.services import PAYABLE, SOURCE
    from statements import formats

    communities = list(managed_communities(request.user))
    raw = request.GET.get("community", "")
    community = next((c for c in communities if str(c.pk) == raw), communities[0] if communities else None)
    if community is None:
        return None
    runs = SettlementRun.objects.filter(period__community=community).exclude(status=RunStatus.SUPERSEDED)
    run = runs.select_related("period").order_by("-period__month", "-number").first()
    if run is None:
        return None
    lines = SettlementLine.objects.filter(run=run)
    total = lines.filter(kind=SOURCE).aggregate(s=Sum("amount"))["s"]
    if total is None:
        total = lines.filter(kind__in=PAYABLE, amount__gt=0).aggregate(s=Sum("amount"))["s"] or Decimal(0)
    waiting = runs.filter(status__in=(RunStatus.DRAFT, RunStatus.APPROVED)).count()
    status = {RunStatus.POSTED: _("posted"), RunStatus.APPROVED: _("approved, not yet posted"),
              RunStatus.DRAFT: _("draft, awaiting your approval"), RunStatus.FAILED: _("failed")}
    note = _("%(month)s, run %(number)s: %(status)s") % {
        "month": formats.month(run.period.month), "number": run.number,
        "status": status.get(run.status, run.status)}
    if waiting:
        note += " · " + _("%(count)s run(s) awaiting a decision") % {"count": waiting}
    true_ups = list(runs.filter(kind=RunKind.TRUE_UP, status=RunStatus.POSTED).select_related("period"))
    stale = stale_true_ups(true_ups)
    for year in sorted({r.period.month.year for r in true_ups if r.pk in stale}):
        note += " · " + _("The %(year)s true-up must be drafted again: a month was corrected after it "
                          "was posted") % {"year": year}
    return {"template": "portal/_card.html", "context": {
        "title": _("Settlement"), "value": formats.money(total), "unit": community.currency, "note": note,
        "link": reverse("admin:settlement_settlementrun_change", args=[run.pk]),
        "link_text": _("Decide the run") if run.status in (RunStatus.DRAFT, RunStatus.APPROVED)
        else _("Open the run"),
    }}


@card("member", "green_windows")
def green_windows(request):
    """Slot: tomorrow's green windows (forecast issue): the largest window of the member's
    first community, or None when no forecast covers tomorrow."""
    if not feature_exists(url_name="forecasts:page", module="forecasts"):
        return None
    from forecasts.portal import green_windows_card

    return green_windows_card(request)


@card("member", "notifications")
@card("referent", "notifications")
def notifications(request):
    """Slot: the latest unread notifications (notifications app)."""
    if not feature_exists(module="notifications"):
        return None
    from notifications.selectors import latest_unread, unread_count

    items = latest_unread(user=request.user, limit=5)
    if not items:
        return None  # nothing unread: the slot stays empty
    return {"template": "notifications/_card_notifications.html",
            "context": {"items": items, "unread": unread_count(user=request.user)}}
