"""The `[sms]` settings table (and `[sms.ussd]`), owned here so config.py need not know it.

Example::

    [sms]
    segment_budget = 2
    rate_per_minute = 6
    daily_quota = 100

    [sms.providers.kannel]
    sendsms_url = "http://127.0.0.1:13013/cgi-bin/sendsms"
    username = "zhiyan"
    password = "…"
    dlr_url = "http://127.0.0.1:8080/sms/kannel/dlr"

A provider is enabled by having a table under `[sms.providers]`; webhooks for any other
name answer 404.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class UssdSettings(BaseModel):
    #: a USSD screen waits this long for the assistant before answering "still thinking"
    #: (operators drop a USSD session after roughly 20-30 s)
    answer_timeout_s: float = Field(default=12.0, gt=0)
    #: the most characters one screen may carry (Africa's Talking: 182)
    max_screen_chars: int = Field(default=182, ge=40)


class SmsSettings(BaseModel):
    #: segments one reply may take before the rest waits for MORE
    segment_budget: int = Field(default=2, ge=1, le=10)
    #: questions one number may have answered per minute, and per UTC day
    rate_per_minute: int = Field(default=6, ge=1)
    daily_quota: int = Field(default=100, ge=1)
    #: inbound messages processed at once (match the engine's parallel slots)
    concurrency: int = Field(default=4, ge=1, le=64)
    #: how long a worker owns a claimed message before another may take it over;
    #: must exceed the slowest answer
    lease_seconds: float = Field(default=180.0, gt=0)
    #: processing attempts before an inbound message is marked failed
    max_attempts: int = Field(default=5, ge=1)
    #: outbound send attempts, and the exponential backoff between them
    send_max_attempts: int = Field(default=8, ge=1)
    send_backoff_s: float = Field(default=2.0, gt=0)
    send_backoff_max_s: float = Field(default=600.0, gt=0)
    #: how often an idle worker looks for work
    poll_interval_s: float = Field(default=0.2, gt=0)
    #: region assumed for numbers written without a country code
    default_region: str = "KE"
    #: price of one segment, shown by `zhiyan sms simulate`
    segment_cost: float = Field(default=1.0, ge=0)
    currency: str = "KES"
    #: run the worker inside `zhiyan serve` (else run `zhiyan sms worker` separately)
    worker_in_server: bool = True
    #: enabled providers and their options (see each module under providers/)
    providers: dict[str, dict[str, Any]] = Field(default_factory=lambda: {"generic": {}})
    ussd: UssdSettings = Field(default_factory=UssdSettings)
