from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from hotline.models import Organisation


class OrganisationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organisation
        fields = ["id", "name"]

    def validate_name(self, value):
        # The database refuses names differing only in case (organisation_name_unique_ci).
        others = Organisation.objects.filter(name__iexact=value)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise serializers.ValidationError(_("An organisation with this name exists."))
        return value
