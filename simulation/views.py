"""Portal pages: the scenario wizard, the run page (progress bar, result charts)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from rest_framework.exceptions import ValidationError

from core.exceptions import DomainError, Forbidden, NotFound
from core.scoping import get_manageable
from simulation import selectors, services
from simulation.forms import ScenarioWizardForm
from simulation.serializers import ScenarioIn


def _community(request):
    """The community picked in the wizard: 404 when invisible, 403 when not managed."""
    from communities.models import Community

    raw = request.GET.get("community") or request.POST.get("community")
    if not raw:
        return None
    try:
        return get_manageable(
            Community.objects.all(), request.user, pk=raw if str(raw).isdigit() else 0
        )
    except NotFound:
        raise Http404("Community not found") from None
    except Forbidden:
        raise PermissionDenied("Only the community's managers may simulate it.") from None


@login_required
def scenario_wizard(request):
    from communities.models import Community

    community = _community(request)
    form = ScenarioWizardForm(request.POST or None, community=community)
    if request.method == "POST" and form.is_valid():
        serializer = ScenarioIn(data=form.scenario_data())
        try:
            serializer.is_valid(raise_exception=True)
            run = services.simulation_start(actor=request.user, data=serializer.validated_data)
        except ValidationError as exc:
            form.add_error(None, f"The scenario is not valid: {exc.detail}")
        except DomainError as exc:
            form.add_error(None, f"The scenario is not valid: {exc.message}")
        else:
            messages.success(request, "Simulation queued.")
            return redirect("simulation:run", job=run.job)
    return render(
        request,
        "simulation/wizard.html",
        {
            "form": form,
            "community": community,
            "communities": Community.objects.managed_by(request.user),
            "runs": selectors.run_list(user=request.user)[:20],
        },
        status=400 if form.errors else 200,
    )


@login_required
def run_page(request, job):
    try:
        run = selectors.run_get(user=request.user, job=job)
    except NotFound:
        raise Http404("Simulation not found") from None
    manages = selectors.run_is_manageable(user=request.user, run=run)
    return render(request, "simulation/run.html", {"run": run, "manages": manages})
