"""The admin, and the shop pages the workload replay drives (shop/views.py)."""
from django.contrib import admin
from django.urls import path

from shop import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("shop/products/", views.product_list),
    path("shop/products/<slug:slug>/", views.product_detail),
    path("shop/users/<int:user_id>/orders/", views.order_history),
    path("shop/checkout/", views.checkout),
]
