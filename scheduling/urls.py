from django.urls import path

from scheduling import views

urlpatterns = [
    path("", views.home, name="home"),
    path("rosters/<int:pk>/", views.roster_detail, name="roster-detail"),
]
