"""REST endpoints of the simulation: start, follow (SSE), read, export, cancel."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid

import orjson
from channels.db import database_sync_to_async
from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exceptions import Conflict, Invalid
from simulation import limits, selectors, services
from simulation.csv_upload import parse_consumption_csv
from simulation.models import FINAL_STATUSES, RunStatus, SimulationRun
from simulation.serializers import JobOut, RunDetailOut, RunOut, ScenarioIn
from simulation.storage import npz_to_frame

ERRORS = {
    400: OpenApiTypes.OBJECT,
    401: OpenApiTypes.OBJECT,
    403: OpenApiTypes.OBJECT,
    404: OpenApiTypes.OBJECT,
}
EVENT_EXAMPLE = (
    'event: progress\ndata: {"job":"5b0c...","status":"running","percent":42.5,"stage":"optimal",'
    '"message":"LP window 23 of 53"}\n\n'
    'event: done\ndata: {"job":"5b0c...","status":"done","percent":100.0,"stage":"done",'
    '"message":"Simulation complete"}\n\n'
)


def _job_param(raw) -> uuid.UUID:
    try:
        return uuid.UUID(str(raw))
    except (TypeError, ValueError):
        raise Invalid(gettext("job must be a simulation job id (UUID)."),
                      details={"job": ["not a UUID"]}) from None


def _job_payload(request, run: SimulationRun) -> dict:
    return {
        "job": str(run.job),
        "scenario": run.scenario_id,
        "status": run.status,
        "progress_url": request.build_absolute_uri(f"/api/v1/simulation/progress?job={run.job}"),
        "websocket_url": f"/ws/simulation/{run.job}/",
        "result_url": request.build_absolute_uri(f"/api/v1/simulation/{run.job}"),
    }


class SimulationView(ListAPIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    serializer_class = RunOut

    def get_queryset(self):
        return selectors.run_list(user=self.request.user)

    @extend_schema(tags=["simulation"], summary="Simulation runs visible to you")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=["simulation"],
        summary="Start a simulation (202 + job id)",
        description="JSON: a scenario (members, plants, batteries, tariffs, economics, statute) or "
        '`{"scenario": id}` to re-run a stored one. Multipart: a `scenario` field holding that '
        "JSON and a `consumption` CSV file (a `timestamp` column and one kWh column per member "
        "key). A bad CSV answers 400 `InvalidCSV` with `details.problems` = [{row, column, "
        "problem}] and nothing runs.",
        request={
            "application/json": ScenarioIn,
            "multipart/form-data": inline_serializer(
                "SimulationUpload",
                {
                    "scenario": serializers.CharField(help_text="The scenario as JSON."),
                    "consumption": serializers.FileField(),
                },
            ),
        },
        responses={202: JobOut, 413: OpenApiTypes.OBJECT, 429: OpenApiTypes.OBJECT, **ERRORS},
    )
    def post(self, request):
        upload = None
        if request.content_type.startswith("multipart/"):
            # refuse an oversized body before Django spools it to disk
            limits.check_request_size(int(request.META.get("CONTENT_LENGTH") or 0))
        data = request.data
        if request.content_type.startswith("multipart/"):
            upload = request.FILES.get("consumption")
            try:
                data = json.loads(request.data.get("scenario") or "{}")
            except json.JSONDecodeError as exc:
                raise Invalid(
                    gettext("scenario: not valid JSON (%(reason)s).") % {"reason": exc.msg},
                    details={"scenario": ["invalid JSON"]},
                )
            if upload is None:
                raise Invalid(gettext("consumption: a CSV file is required."),
                              details={"consumption": ["missing"]})
        consumption = None
        if upload is not None:
            if not isinstance(data, dict):
                raise Invalid(
                    gettext("scenario: a JSON object is required."), details={"scenario": ["not an object"]}
                )
            raw_resolution = str(data.get("resolution_minutes", 60))
            if raw_resolution not in ("15", "60"):
                raise Invalid(
                    gettext("resolution_minutes must be 15 or 60."),
                    details={"resolution_minutes": ["invalid"]},
                )
            limits.check_csv_size(upload.size)
            consumption = parse_consumption_csv(
                upload.read(),
                resolution_minutes=int(raw_resolution),
                time_zone=(data.get("time_zone") or "Europe/Rome"),
            )
        context = {"csv_keys": set(consumption.curves_kwh) if consumption else set()}
        serializer = ScenarioIn(data=data, context=context)
        serializer.is_valid(raise_exception=True)
        run = services.simulation_start(
            actor=request.user, data=serializer.validated_data, consumption=consumption
        )
        return Response(_job_payload(request, run), status=status.HTTP_202_ACCEPTED)


class SimulationDetailView(APIView):
    @extend_schema(
        tags=["simulation"],
        summary="A run: status and, when done, its results",
        description="Who manages the run reads all its results; a member of the community reads the "
        "aggregates and only their own line of `results.split.members`.",
        responses={200: RunDetailOut, **ERRORS},
    )
    def get(self, request, job):
        run = selectors.run_get(user=request.user, job=job)
        body = RunDetailOut(run).data
        body["results"] = selectors.run_results(user=request.user, run=run)
        return Response(body)


class CsvRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return orjson.dumps(data)


class SimulationResultsCsvView(APIView):
    renderer_classes = [JSONRenderer, CsvRenderer]

    @extend_schema(
        tags=["simulation"],
        summary="The run's interval table as CSV",
        responses={
            (200, "text/csv"): OpenApiResponse(response=OpenApiTypes.STR),
            409: OpenApiTypes.OBJECT,
            **ERRORS,
        },
    )
    def get(self, request, job):
        run = selectors.run_get(user=request.user, job=job)
        if run.status != RunStatus.DONE or not run.intervals_npz:
            raise Conflict(gettext("The run is %(status)s: no results yet.") % {"status": run.status})
        frame = npz_to_frame(run.intervals_npz)
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["interval_start", *frame.columns])
        stamps = frame.index.strftime("%Y-%m-%dT%H:%M:%SZ")
        values = frame.to_numpy()
        for ts, row in zip(stamps, values, strict=True):
            writer.writerow([ts, *(f"{v:.6g}" for v in row)])
        response = HttpResponse(buf.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="simulation-{run.job}.csv"'
        return response


class SimulationCancelView(APIView):
    @extend_schema(
        tags=["simulation"],
        summary="Cancel a queued or running simulation",
        description="Needs the right to manage the run (403 for a member who only sees it).",
        request=None,
        responses={202: RunOut, 409: OpenApiTypes.OBJECT, **ERRORS},
    )
    def post(self, request, job):
        run = selectors.run_get_manageable(user=request.user, job=job)
        run = services.run_cancel(actor=request.user, run=run)
        return Response(RunOut(run).data, status=status.HTTP_202_ACCEPTED)


class EventStreamRenderer(BaseRenderer):
    """Accepts `Accept: text/event-stream`; only an error envelope is rendered through it."""

    media_type = "text/event-stream"
    format = "sse"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return orjson.dumps(data)


def _snapshot(pk: int) -> dict | None:
    fields = ("job", "status", "progress_pct", "stage", "message")
    run = SimulationRun.objects.filter(pk=pk).only(*fields).first()
    return run.progress_event() if run else None


def _still_visible(pk: int, user) -> bool:
    """Re-read the user too: a suspended account or a left membership ends the stream."""
    from django.contrib.auth import get_user_model

    fresh = get_user_model().objects.filter(pk=user.pk).first()
    return fresh is not None and SimulationRun.objects.visible_to(fresh).filter(pk=pk).exists()


async def progress_events(pk: int, user=None):
    """Poll the run row (the truth, written by the worker) and emit each change, until the
    run ends or SIMULATION_SSE_MAX_S passes; a heartbeat comment every 15 s. Every
    SIMULATION_STREAM_RECHECK_S the right of `user` to see the run is checked again: when it
    is gone, a `forbidden` event (code 4403) ends the stream."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.SIMULATION_SSE_MAX_S
    last, quiet_since = None, loop.time()
    checked = loop.time()
    yield b"retry: 3000\n\n"
    while loop.time() < deadline:
        if user is not None and loop.time() - checked >= settings.SIMULATION_STREAM_RECHECK_S:
            checked = loop.time()
            if not await database_sync_to_async(_still_visible)(pk, user):
                yield b"event: forbidden\ndata: " + orjson.dumps(
                    {"code": 4403, "message": "You may no longer see this run."}
                ) + b"\n\n"
                return
        event = await database_sync_to_async(_snapshot)(pk)
        if event is None:
            yield b"event: failed\ndata: " + orjson.dumps({"message": "run deleted"}) + b"\n\n"
            return
        if event != last:
            name = event["status"] if event["status"] in FINAL_STATUSES else "progress"
            yield f"event: {name}\ndata: ".encode() + orjson.dumps(event) + b"\n\n"
            last, quiet_since = event, loop.time()
            if event["status"] in FINAL_STATUSES:
                return
        elif loop.time() - quiet_since > 15:
            yield b": heartbeat\n\n"
            quiet_since = loop.time()
        await asyncio.sleep(settings.SIMULATION_SSE_POLL_S)
    yield (
        b"event: timeout\ndata: "
        + orjson.dumps({"message": "stream time limit reached; reconnect"})
        + b"\n\n"
    )


class SimulationProgressView(APIView):
    renderer_classes = [JSONRenderer, EventStreamRenderer]

    @extend_schema(
        tags=["simulation"],
        summary="Progress of a run as server-sent events",
        description="`progress` events (percent, stage, message) until a final `done`, `failed` or "
        "`cancelled` event, then the stream ends. The same events go to the websocket "
        "ws/simulation/<job>/.",
        parameters=[OpenApiParameter("job", OpenApiTypes.UUID, required=True)],
        responses={
            (200, "text/event-stream"): OpenApiResponse(response=OpenApiTypes.STR, description=EVENT_EXAMPLE),
            **ERRORS,
        },
    )
    def get(self, request):
        if "job" not in request.query_params:
            raise Invalid(gettext("job is required."), details={"job": ["required"]})
        run = selectors.run_get(user=request.user, job=_job_param(request.query_params["job"]))
        response = StreamingHttpResponse(
            progress_events(run.pk, request.user), content_type="text/event-stream"
        )
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"
        return response
