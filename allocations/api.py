"""The allocations API: a community's regime data-quality items, the EDA difference
report, and uploads of the two import files (referents, vendors, admins of the community;
outside its scope 404, a plain member 403)."""

from datetime import datetime, time
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from allocations import selectors, services
from allocations.importing import MAX_BYTES
from communities.models import Community
from core.exceptions import Invalid
from core.scoping import get_manageable

TAG = ["allocations"]
_MESSAGE = "You can see this community but not change it."


def _managed(request, pk) -> Community:
    return get_manageable(Community.objects, request.user, pk=pk, message=_MESSAGE)


def _day(request, name: str, tz: ZoneInfo) -> datetime:
    value = parse_date(request.query_params.get(name, "") or "")
    if value is None:
        raise Invalid(_("%(name)s must be a date (YYYY-MM-DD).") % {"name": name},
                      details={name: [_("A date YYYY-MM-DD is required.")]})
    return datetime.combine(value, time(), tzinfo=tz)


class DataQualitySerializer(serializers.Serializer):
    items = serializers.ListField(child=serializers.DictField())


@extend_schema(tags=TAG, responses={200: DataQualitySerializer})
class CommunityDataQualityApi(APIView):
    """The community's regime checks (France: the ACC perimeter and power cap), each with a
    machine-readable `code`."""

    def get(self, request, pk):
        community = _managed(request, pk)
        return Response({"items": selectors.community_data_quality(community=community)})


@extend_schema(tags=TAG, parameters=[
    OpenApiParameter("from", str, description="first local day, YYYY-MM-DD", required=True),
    OpenApiParameter("to", str, description="day after the last (exclusive), YYYY-MM-DD", required=True),
    OpenApiParameter("tolerance_kwh", str, description="default 0.001"),
], responses={200: inline_serializer("EdaReport", {"differences": serializers.ListField()})})
class EdaReportApi(APIView):
    """Where the platform's allocation and the grid operator's (EDA) differ."""

    def get(self, request, pk):
        community = _managed(request, pk)
        tz = ZoneInfo(community.time_zone)
        start, end = _day(request, "from", tz), _day(request, "to", tz)
        if end <= start or (end - start).days > 366:
            raise Invalid(_("The period must be 1 to 366 days."),
                          details={"to": [_("After from, within a year.")]})
        try:
            tolerance = Decimal(request.query_params.get("tolerance_kwh", "0.001"))
        except InvalidOperation:
            tolerance = Decimal("-1")
        if not tolerance.is_finite() or tolerance < 0:
            raise Invalid(_("tolerance_kwh must be a non-negative number."),
                          details={"tolerance_kwh": [_("A non-negative number of kWh.")]})
        return Response(selectors.eda_difference_report(community=community, start=start, end=end,
                                                        tolerance_kwh=tolerance))


class _Upload(APIView):
    parser_classes = [MultiPartParser]
    service = None

    def post(self, request, pk):
        community = _managed(request, pk)
        upload = request.FILES.get("file")
        if upload is None:
            raise Invalid(_("Send the CSV as the multipart field file."), details={"file": [_("Required.")]})
        report = type(self).service(actor=request.user, community=community,
                                    data=upload.read(MAX_BYTES + 1), filename=upload.name)
        return Response(report.as_dict(), status=status.HTTP_200_OK)


UPLOAD_SCHEMA = {"tags": TAG, "request": {"multipart/form-data": inline_serializer(
    "AllocationUpload", {"file": serializers.FileField()})},
    "responses": {200: inline_serializer("AllocationImportReport", {
        "created": serializers.IntegerField(), "updated": serializers.IntegerField(),
        "unchanged": serializers.IntegerField(), "intervals": serializers.IntegerField()})}}


@extend_schema(**UPLOAD_SCHEMA)
class AllocationKeysUploadApi(_Upload):
    """France: import simple / full dynamic shares (CSV interval_start,consumer,producer,share)."""

    service = staticmethod(services.allocation_keys_import)


@extend_schema(**UPLOAD_SCHEMA)
class EdaUploadApi(_Upload):
    """Austria: import the grid operator's EDA values (CSV metering_point,interval_start,G.01..P.01)."""

    service = staticmethod(services.eda_import)


