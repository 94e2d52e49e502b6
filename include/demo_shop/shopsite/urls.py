"""Only the admin: the shop exists for its database, not its pages."""
from django.contrib import admin
from django.urls import path

urlpatterns = [path("admin/", admin.site.urls)]
