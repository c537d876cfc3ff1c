from django.urls import path

from marketing import views

app_name = "marketing"

urlpatterns = [
    path("segments/new/", views.segment_editor, name="segment_new"),
    path("segments/<int:pk>/edit/", views.segment_editor, name="segment_edit"),
]
