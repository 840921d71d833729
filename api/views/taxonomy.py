"""The taxonomy tables: `/api/v1/taxonomy/categories/`, `/actions/`, `/caller-groups/`.
Everyone signed in reads them (a report form needs them); coordinators add and change
entries. No delete: deactivate (`"active": false`) so old reports keep their code.
`?active=1` lists what a new report may choose."""

from rest_framework import viewsets

from api.permissions import CoordinatorWritesOthersRead
from api.serializers.taxonomy import (
    TaxonomyActionSerializer,
    TaxonomyCallerGroupSerializer,
    TaxonomyCategorySerializer,
)
from hotline.models import TaxonomyAction, TaxonomyCallerGroup, TaxonomyCategory


class _TaxonomyViewSet(viewsets.ModelViewSet):
    permission_classes = [CoordinatorWritesOthersRead]
    http_method_names = ["get", "post", "put", "patch", "head", "options"]
    filterset_fields = ["active"]

    def get_queryset(self):
        return self.queryset.model.objects.order_by("order", "code")


class TaxonomyCategoryViewSet(_TaxonomyViewSet):
    serializer_class = TaxonomyCategorySerializer
    queryset = TaxonomyCategory.objects.none()
    filterset_fields = ["active", "parent"]

    def get_queryset(self):
        return super().get_queryset().select_related("parent")


class TaxonomyActionViewSet(_TaxonomyViewSet):
    serializer_class = TaxonomyActionSerializer
    queryset = TaxonomyAction.objects.none()


class TaxonomyCallerGroupViewSet(_TaxonomyViewSet):
    serializer_class = TaxonomyCallerGroupSerializer
    queryset = TaxonomyCallerGroup.objects.none()
