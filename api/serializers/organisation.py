from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from api.serializers.common import ManagedChoicesMixin
from hotline import access
from hotline.models import Organisation


class OrganisationSerializer(ManagedChoicesMixin, serializers.ModelSerializer):
    class Meta:
        model = Organisation
        fields = ["id", "name", "parent"]
        extra_kwargs = {"parent": {"required": False, "allow_null": True}}

    def validate_parent(self, value):
        # A new branch, or a move, only under an organisation the user manages; never under
        # itself or one of its own branches.
        moved = self.instance is None or value != self.instance.parent
        if moved and not access.can_place_organisation(self.context["request"].user, value):
            raise serializers.ValidationError(_("Choose an organisation you manage as the parent."))
        if self.instance is not None and value is not None:
            probe = Organisation(pk=self.instance.pk, name=self.instance.name, parent=value)
            try:
                probe.clean()
            except DjangoValidationError as exc:
                raise serializers.ValidationError(exc.message_dict["parent"]) from exc
        return value

    def validate(self, attrs):
        if self.instance is None and "parent" not in attrs:
            attrs["parent"] = self.validate_parent(None)  # a new top-level organisation
        return attrs

    def validate_name(self, value):
        # The database refuses names differing only in case (organisation_name_unique_ci).
        others = Organisation.objects.filter(name__iexact=value)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise serializers.ValidationError(_("An organisation with this name exists."))
        return value
