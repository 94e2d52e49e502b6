"""The demo shop's users, for locust (run by tools/workload.py, each run in its own process).

A closed loop without think time: each simulated user sends its next request as soon as the
previous one answered, so 1 user measures latency alone and 4 or 16 measure contention. The
mix: listing with filters and pagination 40%, product page 30%, order history 15%, checkout
10%, admin search 5%. The ids, slugs and words come from WORKLOAD_PARAMS (a JSON file read from
the database before the run), so locust itself never touches the database.
"""
from __future__ import annotations

import json
import os
import random
from pathlib import Path

from locust import FastHttpUser, constant, task

PARAMS = json.loads(Path(os.environ["WORKLOAD_PARAMS"]).read_text())
ADMIN = ("admin", "admin-demo-password")  # the generator's known superuser


class Shopper(FastHttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        self.rng = random.Random()
        self.logged_in = False

    @task(40)
    def listing(self) -> None:
        query = {"page": self.rng.randint(1, 5), "sort": self.rng.choice(["newest", "price", "-price", "name"])}
        if self.rng.random() < 0.7:
            query["category"] = self.rng.choice(PARAMS["categories"])
        if self.rng.random() < 0.5:
            low = self.rng.choice([0, 10, 50, 100])
            query.update(min_price=low, max_price=low * 10 + 100)
        self.client.get("/shop/products/", params=query, name="listing")

    @task(30)
    def product_page(self) -> None:
        self.client.get(f"/shop/products/{self.rng.choice(PARAMS['products'])}/", name="product_page")

    @task(15)
    def order_history(self) -> None:
        self.client.get(f"/shop/users/{self.rng.choice(PARAMS['customers'])}/orders/",
                        params={"page": self.rng.randint(1, 2)}, name="order_history")

    @task(10)
    def checkout(self) -> None:
        items = [[pid, self.rng.randint(1, 3)] for pid in self.rng.sample(PARAMS["product_ids"], self.rng.randint(1, 3))]
        self.client.post("/shop/checkout/", json={"user": self.rng.choice(PARAMS["customers"]), "items": items},
                         name="checkout")

    @task(5)
    def admin_search(self) -> None:
        if not self.logged_in:
            self.login()
        self.client.get("/admin/shop/product/", params={"q": self.rng.choice(PARAMS["words"])}, name="admin_search")

    def login(self) -> None:
        self.client.get("/admin/login/", name="admin_login")
        token = next((c.value for c in self.client.cookiejar if c.name == "csrftoken"), "")
        with self.client.post("/admin/login/?next=/admin/", data={"username": ADMIN[0], "password": ADMIN[1],
                                                                  "csrfmiddlewaretoken": token, "next": "/admin/"},
                              name="admin_login", catch_response=True) as response:
            self.logged_in = any(c.name == "sessionid" for c in self.client.cookiejar)
            if not self.logged_in:
                response.failure("the admin login was refused")
