"""List pagination in the shape the seeds use: {"items", "total", "page", "size"}.

Clients may page with `page`/`size` or with `skip`/`limit` (offset style); both answer the
same shape, so an SPA can switch without caring.
"""

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

MAX_SIZE = 1000


# Larger page numbers / offsets would overflow PostgreSQL's OFFSET (bigint) into a 500.
MAX_POSITION = 10**9


def _int_param(request, name: str, default: int | None, minimum: int,
               maximum: int | None = None) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: ["A whole number is required."]}) from None
    if value < minimum:
        raise ValidationError({name: [f"Must be at least {minimum}."]})
    if maximum is not None and value > maximum:
        raise ValidationError({name: [f"Must be at most {maximum}."]})
    return value


class ItemsPagination(BasePagination):
    default_size = 50

    def paginate_queryset(self, queryset, request, view=None):
        limit = _int_param(request, "limit", None, 1)
        skip = _int_param(request, "skip", None, 0, MAX_POSITION)
        if limit is not None or skip is not None:
            self.size = min(limit or self.default_size, MAX_SIZE)
            offset = skip or 0
            self.page = offset // self.size + 1
        else:
            self.size = min(_int_param(request, "size", self.default_size, 1), MAX_SIZE)
            self.page = _int_param(request, "page", 1, 1, MAX_POSITION)
            offset = (self.page - 1) * self.size
        self.total = queryset.count() if hasattr(queryset, "count") else len(queryset)
        return list(queryset[offset : offset + self.size])

    def get_paginated_response(self, data):
        return Response({"items": data, "total": self.total, "page": self.page, "size": self.size})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["items", "total", "page", "size"],
            "properties": {
                "items": schema,
                "total": {"type": "integer"},
                "page": {"type": "integer"},
                "size": {"type": "integer"},
            },
        }

    def get_schema_operation_parameters(self, view):
        def param(name, desc):
            return {"name": name, "required": False, "in": "query", "description": desc,
                    "schema": {"type": "integer"}}

        return [
            param("page", "Page number, from 1."),
            param("size", f"Page size (max {MAX_SIZE})."),
            param("skip", "Offset style: items to skip."),
            param("limit", "Offset style: items to return."),
        ]


def page_of(serializer_class, name: str, **extra_fields):
    """The OpenAPI answer of an APIView that pages `serializer_class` by hand with
    ItemsPagination (`{"items", "total", "page", "size"}`, plus `extra_fields`)."""
    return inline_serializer(name=name, fields={
        "items": serializer_class(many=True), "total": serializers.IntegerField(),
        "page": serializers.IntegerField(), "size": serializers.IntegerField(), **extra_fields,
    })
