"""The coordinators' taxonomy pages (mounted at /taxonomy/, namespace `taxonomy`)."""

from django.urls import path

from hotline.taxonomy import views

app_name = "taxonomy"

urlpatterns = [
    path("", views.taxonomy_home, name="home"),
    path("<slug:table>/", views.taxonomy_table, name="table"),
    path("<slug:table>/add/", views.entry_add, name="add"),
    path("<slug:table>/<int:pk>/", views.entry_edit, name="edit"),
    path("<slug:table>/<int:pk>/move/", views.entry_move, name="move"),
    path("<slug:table>/<int:pk>/active/", views.entry_active, name="active"),
]
