"""The shop's pages the workload replay drives: a listing with filters and pagination, a product
page with reviews and aggregates, a customer's order history, and checkout (a write transaction).

JSON instead of templates: what is measured is the application's database work through the ORM,
the same queries on SQLite and on MySQL. No authentication: these pages exist for the replay
(the admin, with its login, is what the replay's "admin search" uses).
"""
from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Avg, Count, Q, Sum
from django.http import Http404, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .models import Order, OrderItem, Product

SORTS = {"newest": "-created_at", "price": "price", "-price": "-price", "name": "name"}


def _decimal(value: str | None) -> Decimal | None:
    try:
        return Decimal(value) if value else None
    except InvalidOperation:
        raise Http404("bad number") from None


def product_list(request):
    products = Product.objects.filter(is_active=True).select_related("category")
    if request.GET.get("category"):
        products = products.filter(category__slug=request.GET["category"])
    if (low := _decimal(request.GET.get("min_price"))) is not None:
        products = products.filter(price__gte=low)
    if (high := _decimal(request.GET.get("max_price"))) is not None:
        products = products.filter(price__lte=high)
    order = SORTS.get(request.GET.get("sort", "newest"), "-created_at")
    page = Paginator(products.order_by(order, "id"), 24).get_page(request.GET.get("page"))
    return JsonResponse({"count": page.paginator.count, "page": page.number, "pages": page.paginator.num_pages,
                         "products": [{"id": p.id, "name": p.name, "slug": p.slug, "price": str(p.price),
                                       "category": p.category.name} for p in page]})


def product_detail(request, slug: str):
    product = get_object_or_404(Product.objects.select_related("category", "seller"), slug=slug)
    reviews = product.reviews.select_related("user").order_by("-created_at")[:10]
    stats = product.reviews.aggregate(average=Avg("rating"), count=Count("id"),
                                      verified=Count("id", filter=Q(is_verified=True)))
    histogram = {row["rating"]: row["n"] for row in
                 product.reviews.values("rating").annotate(n=Count("id")).order_by("rating")}
    sold = product.order_items.aggregate(units=Sum("quantity"))["units"] or 0
    return JsonResponse({"id": product.id, "name": product.name, "price": str(product.price),
                         "category": product.category.name, "seller": product.seller.username,
                         "tags": list(product.tags.values_list("name", flat=True)), "sold": sold,
                         "rating": {"average": stats["average"], "count": stats["count"],
                                    "verified": stats["verified"], "histogram": histogram},
                         "reviews": [{"user": r.user.username, "rating": r.rating, "title": r.title,
                                      "created_at": r.created_at.isoformat()} for r in reviews]})


def order_history(request, user_id: int):
    orders = (Order.objects.filter(user_id=user_id)
              .annotate(item_count=Count("items"), units=Sum("items__quantity")).order_by("-created_at", "-id"))
    page = Paginator(orders, 10).get_page(request.GET.get("page"))
    return JsonResponse({"count": page.paginator.count, "page": page.number,
                         "orders": [{"number": o.number.hex, "status": o.status, "total": str(o.total),
                                     "items": o.item_count, "units": o.units,
                                     "created_at": o.created_at.isoformat()} for o in page]})


@csrf_exempt
@require_POST
def checkout(request):
    """{"user": id, "items": [[product_id, quantity], ...]} -> a pending order, in one transaction."""
    try:
        body = json.loads(request.body)
        user_id = int(body["user"])
        wanted = {int(pid): int(qty) for pid, qty in body["items"]}
    except (ValueError, KeyError, TypeError):
        return HttpResponseBadRequest("expected {\"user\": id, \"items\": [[product_id, quantity], ...]}")
    with transaction.atomic():
        products = {p.id: p for p in Product.objects.filter(id__in=wanted, is_active=True)}
        if not products:
            return HttpResponseBadRequest("no active product in the basket")
        total = sum((products[pid].price * qty for pid, qty in wanted.items() if pid in products), Decimal(0))
        order = Order.objects.create(user_id=user_id, total=total)
        OrderItem.objects.bulk_create([OrderItem(order=order, product=products[pid], quantity=qty,
                                                 unit_price=products[pid].price)
                                       for pid, qty in wanted.items() if pid in products])
    return JsonResponse({"number": order.number.hex, "total": str(total)}, status=201)
