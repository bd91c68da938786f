"""Portal pages: the scenario wizard, the run page (progress bar, result charts)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from rest_framework.exceptions import ValidationError

from core.errors import ApiError
from simulation import selectors, services
from simulation.forms import ScenarioWizardForm
from simulation.serializers import ScenarioIn


def _community(request):
    from communities.models import Community

    raw = request.GET.get("community") or request.POST.get("community")
    if not raw:
        return None
    community = Community.objects.managed_by(request.user).filter(pk=raw if str(raw).isdigit() else 0).first()
    if community is None or not Community.objects.visible_to(request.user).filter(pk=community.pk).exists():
        raise Http404("Community not found")
    return community


@login_required
def scenario_wizard(request):
    from communities.models import Community

    community = _community(request)
    form = ScenarioWizardForm(request.POST or None, community=community)
    if request.method == "POST" and form.is_valid():
        serializer = ScenarioIn(data=form.scenario_data())
        try:
            serializer.is_valid(raise_exception=True)
            scenario = services.scenario_create(user=request.user, data=serializer.validated_data)
            run = services.run_start(user=request.user, scenario=scenario)
        except (ValidationError, ApiError) as exc:
            detail = exc.detail if isinstance(exc, ValidationError) else str(exc.detail)
            form.add_error(None, f"The scenario is not valid: {detail}")
        else:
            messages.success(request, "Simulation queued.")
            return redirect("simulation:run", job=run.job)
    return render(
        request,
        "simulation/wizard.html",
        {
            "form": form,
            "community": community,
            "communities": Community.objects.managed_by(request.user).filter(
                pk__in=Community.objects.visible_to(request.user).values("pk")
            ),
            "runs": selectors.run_list(user=request.user)[:20],
        },
        status=400 if form.errors else 200,
    )


@login_required
def run_page(request, job):
    try:
        run = selectors.run_get(user=request.user, job=job)
    except ApiError:
        raise Http404("Simulation not found") from None
    return render(request, "simulation/run.html", {"run": run})
