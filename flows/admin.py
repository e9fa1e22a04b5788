from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, QuerySet
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_POST
from simple_history.admin import SimpleHistoryAdmin

from flows import selectors
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


class JSONEditorWidget(forms.Textarea):
    """A textarea that the vendored JSONEditor (code mode: highlighting, formatting,
    syntax errors as you type) takes over; without JavaScript it stays a textarea."""

    class Media:
        css = {"all": ["vendor/jsoneditor-10.4.3/jsoneditor.min.css", "flows/admin.css"]}
        js = ["vendor/jsoneditor-10.4.3/jsoneditor.min.js", "flows/json_widget.js"]

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        defaults = {
            "rows": 10,
            "cols": 80,
            "class": "vLargeTextField json-editor",
            "spellcheck": "false",
        }
        super().__init__({**defaults, **(attrs or {})})


JSON_OVERRIDES = {models.JSONField: {"form_class": PrettyJSONField, "widget": JSONEditorWidget}}


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
        ("mirror_of", "raw_message_delivery"),
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
        ("channel", "consumer", "api_id"),
        "input_paths_map",
        "input_template",
        ("max_retries", "max_event_age", "dead_letter_queue"),
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
        (
            "Queue attributes (SQS)",
            {
                "classes": ["collapse"],
                "fields": [
                    "delay_seconds",
                    "receive_wait_seconds",
                    "message_retention_seconds",
                    "maximum_message_size",
                    "content_based_deduplication",
                ],
            },
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


class HistoryAdmin(SimpleHistoryAdmin):
    """Who changed what and when, each version's changes as a diff, and revert.

    Reverting opens the old version in the ordinary change form, so it is validated
    like any edit before it reaches the running simulation.
    """

    history_list_display = ["changes"]

    @admin.display(description="changes")
    def changes(self, record: Any) -> str:
        previous = record.prev_record
        if previous is None:
            return "created"
        delta = record.diff_against(previous)
        lines = [
            f"{change.field}: {_short(change.old)} → {_short(change.new)}"
            for change in delta.changes
        ]
        return format_html(
            "<pre class='json-field history-diff'>{}</pre>", "\n".join(lines) or "no change"
        )


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 300 else text[:297] + "..."


@admin.register(Subscription)
class SubscriptionAdmin(JSONAdminMixin, HistoryAdmin):
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


RULE_FIELDS = ("bus_id", "name", "description", "event_pattern", "enabled")


class RuleAdminForm(forms.ModelForm):
    """Refuses to overwrite a rule someone else saved after this form was opened."""

    loaded_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Rule
        fields = ["bus", "name", "description", "event_pattern", "enabled"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # The stored version, not the instance's: a revert form's instance is the old one.
            stored = Rule.objects.filter(pk=self.instance.pk).values_list("version", flat=True)
            self.fields["loaded_version"].initial = stored.first()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.instance.pk:
            current = Rule.objects.filter(pk=self.instance.pk).values_list("version", flat=True)
            stored = current.first()
            loaded = cleaned.get("loaded_version")
            if stored is not None and loaded is not None and loaded != stored:
                last = self.instance.history.order_by("-history_date").first()
                who = getattr(last.history_user, "username", "someone") if last else "someone"
                raise ValidationError(
                    f"This rule was changed by {who} (now version {stored}; you opened "
                    f"version {loaded}). Your edits were not saved: reload the page, then "
                    "apply them again."
                )
        return cleaned


@admin.register(Rule)
class RuleAdmin(JSONAdminMixin, HistoryAdmin):
    form = RuleAdminForm
    list_display = ["name", "bus", "enabled", "version", "target_count", "updated_at"]
    list_filter = ["enabled", "bus__topology", "bus"]
    search_fields = ["name", "description", "bus__name"]
    autocomplete_fields = ["bus"]
    readonly_fields = ["version", "updated_at"]
    inlines = [TargetInline]
    change_form_template = "admin/flows/rule/change_form.html"
    fields = [
        "bus",
        "name",
        "description",
        "event_pattern",
        "enabled",
        "version",
        "updated_at",
        "loaded_version",
    ]

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
        if change:
            stored = Rule.objects.filter(pk=obj.pk).values(*RULE_FIELDS, "version").first()
            if stored is not None:
                # Versions only go up, a revert to an old version included.
                obj.version = stored["version"]
                if any(stored[name] != getattr(obj, name) for name in RULE_FIELDS):
                    obj.version += 1
                    obj._version_raised = True  # type: ignore[attr-defined]
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        rule = form.instance
        targets_changed = any(formset.has_changed() for formset in formsets)
        if change and targets_changed and not getattr(rule, "_version_raised", False):
            rule.version += 1
            rule.save(update_fields=["version", "updated_at"])

    # The sandbox and what-if panel of the change form (staff only, CSRF-protected).

    def get_urls(self) -> list[Any]:
        extra = [
            path(
                "sandbox/", self.admin_site.admin_view(self.sandbox_view), name="flows_rule_sandbox"
            ),
            path("whatif/", self.admin_site.admin_view(self.whatif_view), name="flows_rule_whatif"),
            path(
                "recent-events/<int:bus_id>/",
                self.admin_site.admin_view(self.recent_events_view),
                name="flows_rule_recent_events",
            ),
        ]
        return extra + super().get_urls()

    @staticmethod
    def _json_body(request: HttpRequest) -> dict[str, Any]:
        try:
            body = json.loads(request.body or b"{}")
        except json.JSONDecodeError as exc:
            raise ValidationError(
                f"The request is not valid JSON: {exc.msg} (at {exc.pos})"
            ) from None
        if not isinstance(body, dict):
            raise ValidationError("The request must be a JSON object.")
        return body

    def _answer(self, request: HttpRequest, compute: Any) -> JsonResponse:
        if not self.has_view_or_change_permission(request):
            return JsonResponse(
                {"error": "Only staff with access to rules may test them."}, status=403
            )
        try:
            return JsonResponse(compute(self._json_body(request)))
        except ValidationError as exc:
            return JsonResponse({"error": " ".join(exc.messages)}, status=400)

    @method_decorator(require_POST)
    def sandbox_view(self, request: HttpRequest) -> JsonResponse:
        return self._answer(
            request, lambda body: selectors.rule_sandbox(body.get("pattern"), body.get("event"))
        )

    @method_decorator(require_POST)
    def whatif_view(self, request: HttpRequest) -> JsonResponse:
        def compute(body: dict[str, Any]) -> dict[str, Any]:
            bus = MessageChannel.objects.filter(pk=body.get("bus"), kind="bus").first()
            if bus is None:
                raise ValidationError("Choose the rule's event bus first.")
            rule = Rule.objects.filter(pk=body.get("rule")).first() if body.get("rule") else None
            limit = body.get("limit", 200)
            if not isinstance(limit, int) or not 1 <= limit <= 5000:
                raise ValidationError("limit must be an integer from 1 to 5000.")
            return selectors.rule_whatif(bus=bus, rule=rule, draft=body.get("pattern"), limit=limit)

        return self._answer(request, compute)

    @method_decorator(require_GET)
    def recent_events_view(self, request: HttpRequest, bus_id: int) -> JsonResponse:
        if not self.has_view_or_change_permission(request):
            return JsonResponse({"error": "Only staff may read recent events."}, status=403)
        bus = MessageChannel.objects.filter(pk=bus_id, kind="bus").first()
        if bus is None:
            return JsonResponse({"error": f"No event bus {bus_id}."}, status=404)
        return JsonResponse({"events": selectors.bus_recent_events(bus=bus, limit=20)})


@admin.register(Target)
class TargetAdmin(JSONAdminMixin, HistoryAdmin):
    list_display = ["__str__", "rule", "channel", "consumer", "transformed"]
    list_filter = ["rule__bus__topology"]
    search_fields = ["rule__name", "channel__name", "consumer__name"]
    autocomplete_fields = ["rule", "channel", "consumer", "dead_letter_queue"]
    list_select_related = ["rule", "channel", "consumer"]

    @admin.display(description="input transformer", boolean=True)
    def transformed(self, obj: Target) -> bool:
        return obj.has_transformer


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


# The AWS-compatible endpoint keeps its own admin (API keys) in its package.
from flows.aws import admin as _aws_admin  # noqa: E402, F401
