"""Prometheus metrics of one bot process, in a registry of its own (tests run several at once)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.updates = Counter("komunalka_updates_total", "Inbound updates handled, by channel and outcome",
                               ["channel", "outcome"], registry=self.registry)
        self.replies = Counter("komunalka_replies_sent_total", "Messages sent to residents, by channel",
                               ["channel"], registry=self.registry)
        self.errors = Counter("komunalka_errors_total", "Errors while handling or sending, by channel and kind",
                              ["channel", "kind"], registry=self.registry)
        self.set_aside = Counter("komunalka_set_aside_total",
                                 "Inbox events and outbox rows set aside for the operator (run_bot.py inbox|outbox "
                                 "failed)", ["channel", "queue"], registry=self.registry)
        self.kept_readings = Counter("komunalka_kept_readings_total",
                                     "Readings kept outside a window: handed in when it opened, or expired",
                                     ["outcome"], registry=self.registry)
        self.reminders = Counter("komunalka_reminders_total", "Reminders by outcome (sent, unreachable, "
                                 "rejected, retry)", ["channel", "outcome"], registry=self.registry)
        self.latency = Histogram("komunalka_handling_seconds", "From recording an update to its replies being sent",
                                 ["channel"], registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))

        self.photos = Counter("komunalka_photos_total", "Residents' photos: kept (read: a value suggested from "
                              "it is up to the step), or why not (too_large, not_image, unavailable)",
                              ["channel", "outcome"], registry=self.registry)
        self.photo_seconds = Histogram("komunalka_photo_seconds", "Fetching, keeping and reading one photo",
                                       ["channel"], registry=self.registry,
                                       buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60))

    def render(self) -> bytes:
        return generate_latest(self.registry)
