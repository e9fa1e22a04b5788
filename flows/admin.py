from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from flows.models import (
    Consumer,
    Emission,
    Hop,
    MessageChannel,
    MessageType,
    Producer,
    Rule,
    Run,
    Subscription,
    Target,
    Topology,
)


class PrettyJSONField(forms.JSONField):
    """Shows stored JSON indented, in a monospaced box, instead of on one long line."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        if value is None:
            return ""
        return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


JSON_WIDGET = forms.Textarea(
    attrs={"rows": 8, "cols": 80, "class": "vLargeTextField json-field", "spellcheck": "false"}
)
JSON_OVERRIDES = {models.JSONField: {"form_class": PrettyJSONField, "widget": JSON_WIDGET}}


def pretty_json(value: Any) -> str:
    if value in (None, {}, []):
        return "—"
    return format_html("<pre class='json-field'>{}</pre>", json.dumps(value, indent=2))


class JSONAdminMixin:
    formfield_overrides = JSON_OVERRIDES


class SubscriptionInline(JSONAdminMixin, admin.StackedInline):
    model = Subscription
    fk_name = "channel"
    extra = 0
    autocomplete_fields = ["consumer", "target_channel", "dead_letter_queue"]
    fields = [
        ("consumer", "target_channel"),
        ("filter_scope", "filter_policy"),
        ("max_retries", "dead_letter_queue"),
        "mirror_of",
    ]


class RuleInline(admin.TabularInline):
    model = Rule
    fk_name = "bus"
    extra = 0
    fields = ["name", "enabled", "version"]
    readonly_fields = ["version"]
    show_change_link = True


class TargetInline(JSONAdminMixin, admin.StackedInline):
    model = Target
    extra = 0
    autocomplete_fields = ["channel", "consumer", "dead_letter_queue"]
    fields = [
        ("channel", "consumer"),
        "input_paths_map",
        "input_template",
        ("max_retries", "dead_letter_queue"),
    ]


class EmissionInline(JSONAdminMixin, admin.StackedInline):
    model = Emission
    extra = 0
    autocomplete_fields = ["message_type"]
    fields = [("message_type", "weight"), "payload_template", "attributes"]


@admin.register(Topology)
class TopologyAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "is_public", "channel_count", "consumer_count", "updated_at"]
    list_filter = ["is_public"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["created_at", "updated_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Topology]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_channels=Count("channels", distinct=True),
                n_consumers=Count("consumers", distinct=True),
            )
        )

    @admin.display(description="channels", ordering="n_channels")
    def channel_count(self, obj: Topology) -> int:
        return obj.n_channels  # type: ignore[attr-defined]

    @admin.display(description="consumers", ordering="n_consumers")
    def consumer_count(self, obj: Topology) -> int:
        return obj.n_consumers  # type: ignore[attr-defined]


@admin.register(MessageType)
class MessageTypeAdmin(JSONAdminMixin, admin.ModelAdmin):
    list_display = ["name", "version", "kind", "source", "topology"]
    list_filter = ["kind", "topology"]
    search_fields = ["name", "source"]


@admin.register(MessageChannel)
class MessageChannelAdmin(JSONAdminMixin, admin.ModelAdmin):
    list_display = ["name", "kind", "topology", "fifo", "max_receives", "dead_letter_queue"]
    list_filter = ["kind", "fifo", "archive_enabled", "topology"]
    search_fields = ["name", "description", "topology__name"]
    autocomplete_fields = ["dead_letter_queue"]
    inlines = [SubscriptionInline, RuleInline]
    fieldsets = [
        (None, {"fields": ["topology", "name", "kind", "description"]}),
        (
            "Queue",
            {"fields": ["visibility_timeout", "max_receives", "dead_letter_queue", "fifo"]},
        ),
        ("Event bus", {"fields": ["archive_enabled", "archive_pattern", "archive_retention_days"]}),
    ]


@admin.register(Producer)
class ProducerAdmin(admin.ModelAdmin):
    list_display = ["name", "topology", "channel", "rate", "paused"]
    list_filter = ["paused", "topology"]
    list_editable = ["rate", "paused"]
    search_fields = ["name", "channel__name"]
    autocomplete_fields = ["channel"]
    inlines = [EmissionInline]


@admin.register(Consumer)
class ConsumerAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "service",
        "topology",
        "online",
        "concurrency",
        "latency_mean_ms",
        "failure_rate",
        "expected_type",
    ]
    list_filter = ["online", "idempotent", "topology"]
    list_editable = ["online", "failure_rate"]
    search_fields = ["name", "service"]
    autocomplete_fields = ["expected_type"]


@admin.register(Subscription)
class SubscriptionAdmin(JSONAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "channel", "subscriber", "filtered", "is_mirror"]
    list_filter = ["channel__kind", "channel__topology", "filter_scope"]
    search_fields = ["channel__name", "consumer__name", "target_channel__name"]
    autocomplete_fields = ["channel", "consumer", "target_channel", "dead_letter_queue"]
    list_select_related = ["channel", "consumer", "target_channel", "mirror_of"]

    @admin.display(description="subscriber")
    def subscriber(self, obj: Subscription) -> str:
        return obj.subscriber_name

    @admin.display(description="filter policy", boolean=True)
    def filtered(self, obj: Subscription) -> bool:
        return obj.filter_policy is not None

    @admin.display(description="mirror", boolean=True)
    def is_mirror(self, obj: Subscription) -> bool:
        return obj.mirror_of_id is not None


@admin.register(Rule)
class RuleAdmin(JSONAdminMixin, admin.ModelAdmin):
    list_display = ["name", "bus", "enabled", "version", "target_count", "updated_at"]
    list_filter = ["enabled", "bus__topology", "bus"]
    list_editable = ["enabled"]
    search_fields = ["name", "description", "bus__name"]
    autocomplete_fields = ["bus"]
    readonly_fields = ["version", "updated_at"]
    inlines = [TargetInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Rule]:
        return super().get_queryset(request).annotate(n_targets=Count("targets"))

    @admin.display(description="targets", ordering="n_targets")
    def target_count(self, obj: Rule) -> int:
        return obj.n_targets  # type: ignore[attr-defined]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "bus":
            kwargs["queryset"] = MessageChannel.objects.filter(kind="bus")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Rule, form: Any, change: bool) -> None:
        if change and form.changed_data:
            obj.version += 1
        super().save_model(request, obj, form, change)


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ["pk", "topology", "status", "seed", "started_at", "stopped_at", "last_seq"]
    list_filter = ["status", "topology"]
    readonly_fields = ["topology", "seed", "started_at", "stopped_at", "last_seq", "counters_json"]
    exclude = ["counters"]

    @admin.display(description="counters")
    def counters_json(self, obj: Run) -> str:
        return pretty_json(obj.counters)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # runs are started from the dashboard or `manage.py runstart`


@admin.register(Hop)
class HopAdmin(admin.ModelAdmin):
    list_display = ["seq", "run", "type", "stage", "from_node", "to_node", "edge", "attempt"]
    list_filter = ["stage", "kind", "run__topology"]
    search_fields = ["msg", "type"]
    readonly_fields = [f.name for f in Hop._meta.fields if f.name != "detail"] + ["detail_json"]
    exclude = ["detail"]
    list_select_related = ["run"]

    @admin.display(description="detail")
    def detail_json(self, obj: Hop) -> str:
        return pretty_json(obj.detail)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
