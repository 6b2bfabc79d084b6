"""Prometheus metrics, one registry per application (tests build many apps in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "zhiyan_http_requests", "HTTP requests handled", ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "zhiyan_http_request_seconds", "Time to the end of the response head",
            ["route"], registry=self.registry,
        )
        self.time_to_first_token = Histogram(
            "zhiyan_time_to_first_token_seconds", "From request to the first answer token",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32), registry=self.registry,
        )
        self.completion_tokens = Counter(
            "zhiyan_completion_tokens", "Tokens generated", registry=self.registry
        )
        self.in_flight = Gauge(
            "zhiyan_engine_in_flight", "Requests running or waiting in the engine",
            registry=self.registry,
        )

    def render(self) -> str:
        return generate_latest(self.registry).decode()
