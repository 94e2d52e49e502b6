from django.contrib import admin

from .models import Category, Order, OrderItem, Product, Review, Tag

admin.site.register([Category, Tag, Product, Review])


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    raw_id_fields = ["product"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "user", "status", "total", "created_at"]
    list_filter = ["status"]
    inlines = [OrderItemInline]
