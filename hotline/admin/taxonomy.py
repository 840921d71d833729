"""Admin for the taxonomy tables and the referral directory: coordinators (staff) edit labels,
order and the active flag. A code is read-only once saved (statistics count by it) and entries are never deleted:
deactivate them instead, so old reports keep their meaning."""

from django.contrib import admin

from hotline.models import Resource, TaxonomyAction, TaxonomyCallerGroup, TaxonomyCategory


class TaxonomyAdmin(admin.ModelAdmin):
    list_display = ["code", "label_zh_hans", "label_en", "active", "order"]
    list_editable = ["label_zh_hans", "label_en", "active", "order"]
    list_filter = ["active"]
    search_fields = ["code", "label_zh_hans", "label_en"]
    ordering = ["order", "code"]

    def get_readonly_fields(self, request, obj=None):
        return ["code"] if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TaxonomyCategory)
class TaxonomyCategoryAdmin(TaxonomyAdmin):
    list_display = ["code", "parent", "label_zh_hans", "label_en", "active", "order"]
    list_filter = ["active", "parent"]
    list_select_related = ["parent"]


admin.site.register(TaxonomyAction, TaxonomyAdmin)
admin.site.register(TaxonomyCallerGroup, TaxonomyAdmin)


@admin.register(Resource)
class ResourceAdmin(admin.ModelAdmin):
    """The referral directory (public information about organisations). No delete: untick
    "listed" so the reports that referred to it keep it."""

    list_display = ["name", "category", "area", "phone", "active", "verified_at"]
    list_filter = ["category", "active", "area"]
    search_fields = ["name", "area", "address"]
    readonly_fields = ["created_at", "updated_at"]

    def has_delete_permission(self, request, obj=None):
        return False
