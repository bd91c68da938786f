"""DRF pieces that keep every choice list and every id in a request inside the caller's scope.

Any related field a request body accepts, and any foreign-key filter of a list, resolves ids
only among the rows `Model.objects.visible_to(request.user)` (or `managed_by`) returns. An id
of another tenant then reads exactly like one that does not exist (400 "does not exist"), and
the browsable API's forms and filter forms list only the caller's rows.

- `ScopedFieldsMixin` (or `ScopedModelSerializer`): put it first in a serializer's bases; at
  field binding it narrows every writable `PrimaryKeyRelatedField` (and `many=True`
  relations) whose queryset is over a scoped model. Fields named in
  `Meta.scope_manageable` are narrowed by `managed_by` instead of `visible_to`.
- `ScopedPrimaryKeyRelatedField(Model, manageable=False)`: a standalone field that does the
  same (for plain `Serializer`s).
- `ScopedFilterSet`: a django-filter base whose `ModelChoiceFilter`s and
  `ModelMultipleChoiceFilter`s (explicit or generated from `Meta.fields`) are narrowed the
  same way, from the request's user.
- `DebugOnlyBrowsableNegotiation`: the HTML renderer is offered only when `DEBUG` is on
  (checked per request, so tests can switch it with `override_settings(DEBUG=True)`).

Without a request (schema generation, services serializing output) the writable querysets
are empty: nothing resolves an id on behalf of nobody.
"""

from __future__ import annotations

import django_filters
from django.conf import settings
from django.db.models import Manager
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import renderers, serializers
from rest_framework.negotiation import DefaultContentNegotiation

from core.scoping import ScopedQuerySet


def scope_queryset(queryset, user, *, manageable: bool = False):
    """`queryset` narrowed to what `user` may see (or manage); unscoped models unchanged."""
    if isinstance(queryset, Manager):  # ModelSerializer passes `Model._default_manager`
        queryset = queryset.all()
    if not isinstance(queryset, ScopedQuerySet):
        return queryset
    if user is None:
        return queryset.none()
    return queryset.managed_by(user) if manageable else queryset.visible_to(user)


def _request_user(context):
    request = (context or {}).get("request")
    return getattr(request, "user", None)


@extend_schema_field(OpenApiTypes.INT)
class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A primary key resolved only within `Model.objects.visible_to(request.user)` (or
    `managed_by` with `manageable=True`)."""

    def __init__(self, model, *, manageable: bool = False, **kwargs):
        self.model = model
        self.manageable = manageable
        super().__init__(**kwargs)

    def get_queryset(self):
        return scope_queryset(self.model._default_manager.all(), _request_user(self.context),
                              manageable=self.manageable)


def _narrow(field, user, manageable: bool) -> None:
    if isinstance(field, serializers.ManyRelatedField):
        field = field.child_relation
    if isinstance(field, ScopedPrimaryKeyRelatedField) or getattr(field, "read_only", False):
        return
    queryset = getattr(field, "queryset", None)
    if isinstance(field, serializers.RelatedField) and queryset is not None:
        field.queryset = scope_queryset(queryset, user, manageable=manageable)


class ScopedFieldsMixin:
    """Narrows every writable related field of the serializer to the caller's scope."""

    def get_fields(self):
        fields = super().get_fields()
        user = _request_user(self.context)
        manageable = set(getattr(getattr(self, "Meta", None), "scope_manageable", ()))
        for name, field in fields.items():
            _narrow(field, user, name in manageable)
        return fields


class ScopedModelSerializer(ScopedFieldsMixin, serializers.ModelSerializer):
    pass


class ScopedFilterSet(django_filters.FilterSet):
    """A FilterSet whose model-choice filters accept only ids within the caller's scope.

    `Meta.scope_manageable` names filters narrowed by `managed_by` instead of `visible_to`.
    """

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        super().__init__(data, queryset, request=request, prefix=prefix)
        user = getattr(request, "user", None)
        manageable = set(getattr(self._meta, "scope_manageable", ()) or ())
        for name, filter_ in self.filters.items():
            if not isinstance(filter_, django_filters.filters.QuerySetRequestMixin):
                continue
            filter_.queryset = _scoped_choices(filter_.queryset, user, name in manageable)


def _scoped_choices(base, user, manageable):
    def choices(request):
        queryset = base(request) if callable(base) else base
        if queryset is None:
            return None
        return scope_queryset(queryset.all(), user, manageable=manageable)

    return choices


class DebugOnlyBrowsableNegotiation(DefaultContentNegotiation):
    """Offers DRF's HTML (browsable) renderer only while `DEBUG` is on: its forms and filter
    panels are a convenience for developers, not a production surface."""

    def select_renderer(self, request, renderers_, format_suffix=None):
        if not settings.DEBUG:
            renderers_ = [r for r in renderers_ if not isinstance(r, renderers.BrowsableAPIRenderer)]
        return super().select_renderer(request, renderers_, format_suffix)
