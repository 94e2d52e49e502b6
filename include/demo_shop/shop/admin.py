from django.contrib import admin

from .models import Category, Order, OrderItem, Product, Review, Tag

admin.site.register([Category, Tag, Review])


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "price", "is_active", "created_at"]
    list_select_related = ["category"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug"]


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    raw_id_fields = ["product"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "user", "status", "total", "created_at"]
    list_filter = ["status"]
    search_fields = ["user__username", "user__email"]
    inlines = [OrderItemInline]
