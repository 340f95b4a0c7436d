"""Prometheus metrics, one registry per app so that several apps can live in one process."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "ticketbot_http_requests_total",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "ticketbot_http_request_seconds",
            "HTTP request latency by route",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.tickets_created = Counter(
            "ticketbot_tickets_created_total",
            "Tickets created, by source",
            ["source"],
            registry=self.registry,
        )
        self.messages_sent = Counter(
            "ticketbot_outbox_sent_total",
            "Outbound messages delivered, by channel",
            ["channel"],
            registry=self.registry,
        )
        self.webhooks = Counter(
            "ticketbot_webhook_events_total",
            "Webhook events by source and outcome",
            ["source", "outcome"],
            registry=self.registry,
        )

    def middleware(self) -> Any:
        @web.middleware
        async def measure(request: web.Request, handler: Any) -> web.StreamResponse:
            start = time.perf_counter()
            status = 500
            try:
                response = await handler(request)
                status = response.status
                return response
            except web.HTTPException as exc:
                status = exc.status
                raise
            finally:
                info = request.match_info.route.resource
                route = info.canonical if info is not None else "unmatched"
                self.requests.labels(request.method, route, str(status)).inc()
                self.latency.labels(request.method, route).observe(time.perf_counter() - start)

        return measure

    async def handle(self, request: web.Request) -> web.Response:
        body = generate_latest(self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
