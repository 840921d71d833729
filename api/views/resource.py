"""The referral directory: `/api/v1/resources/` — volunteers read (search with `?category=`,
`?area=`, `?q=`), coordinators write; `POST /api/v1/resources/import/` (multipart `file`,
`dry_run`) imports a CSV all or nothing; `POST /api/v1/resources/{id}/verify/` marks an
entry checked today. No delete: set `"active": false`."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, parsers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from api.permissions import IsCoordinator
from api.serializers.resource import (
    ResourceImportResultSerializer,
    ResourceImportSerializer,
    ResourceSerializer,
)
from api.views.common import CoordinatorWriteViewSet
from hotline.models import Resource, ResourceCategory
from hotline.referrals import services
from hotline.referrals.selectors import resources_search

IMPORT_MAX_BYTES = 1024 * 1024


@extend_schema(
    parameters=[
        OpenApiParameter("category", OpenApiTypes.STR, enum=ResourceCategory.values),
        OpenApiParameter("area", OpenApiTypes.STR),
        OpenApiParameter("q", OpenApiTypes.STR),
    ]
)
class ResourceViewSet(CoordinatorWriteViewSet):
    serializer_class = ResourceSerializer
    queryset = Resource.objects.none()  # for the schema only
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def get_queryset(self):
        params = self.request.query_params
        category = params.get("category", "")
        if category and category not in ResourceCategory.values:
            raise exceptions.ValidationError({"category": [_("Unknown category code.")]})
        return resources_search(
            category=category,
            area=params.get("area", "")[:100],
            q=params.get("q", "")[:100],
            include_inactive=self.action != "list",
        )

    @extend_schema(
        request={"multipart/form-data": ResourceImportSerializer},
        responses={
            200: ResourceImportResultSerializer,
            201: ResourceImportResultSerializer,
            400: OpenApiResponse(description="bad rows (nothing written) or a bad file"),
        },
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        permission_classes=[IsCoordinator],
        parser_classes=[parsers.MultiPartParser],
    )
    def import_csv(self, request):
        payload = ResourceImportSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        upload = payload.validated_data["file"]
        if upload.size > IMPORT_MAX_BYTES:
            raise exceptions.ValidationError({"file": [_("The file is larger than 1 MB.")]})
        try:
            text = upload.read().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise exceptions.ValidationError({"file": [_("Save the file as UTF-8 CSV.")]}) from exc
        try:
            result = services.resources_import(
                text=text,
                by=request.user,
                dry_run=payload.validated_data["dry_run"],
                now=timezone.now(),
            )
        except DjangoValidationError as exc:
            raise exceptions.ValidationError(exc.message_dict) from exc
        body = ResourceImportResultSerializer(result).data
        if not result.ok:
            return Response(
                {
                    "code": "invalid_rows",
                    "detail": _("Nothing was imported: fix these rows."),
                    **body,
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        written = not result.dry_run
        return Response(body, status=status.HTTP_201_CREATED if written else status.HTTP_200_OK)

    @extend_schema(request=None, responses={200: ResourceSerializer})
    @action(detail=True, methods=["post"], permission_classes=[IsCoordinator])
    def verify(self, request, pk=None):
        resource = services.resource_verify(
            resource=self.get_object(), by=request.user, now=timezone.now()
        )
        return Response(ResourceSerializer(resource).data)
