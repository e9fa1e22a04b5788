from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, QuerySet
from django.http import HttpRequest, JsonResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_GET, require_POST

from flows import rules, selectors
from flows.admin_filters import topology_filter, used_filter
from flows.admin_history import HistoryAdmin
from flows.forms import JSONEditorWidget, PrettyJSONField, RuleAdminForm
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


# What a topology holds, each with its list filtered to the topology (``?topology=<pk>``).
TOPOLOGY_PARTS = [
    ("channels", MessageChannel, "topology"),
    ("producers", Producer, "topology"),
    ("consumers", Consumer, "topology"),
    ("subscriptions", Subscription, "channel__topology"),
    ("rules", Rule, "bus__topology"),
    ("targets", Target, "rule__bus__topology"),
    ("message types", MessageType, "topology"),
]


@admin.register(Topology)
class TopologyAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "is_public", "channel_count", "consumer_count", "updated_at"]
    list_filter = ["is_public"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["parts", "created_at", "updated_at"]
    fields = [
        "name",
        "slug",
        "description",
        "is_public",
        "script",
        "parts",
        "created_at",
        "updated_at",
    ]

    @admin.display(description="its parts")
    def parts(self, obj: Topology) -> str:
        """Links to the lists of this topology's channels, rules, ... (the dashboard's
        "edit in admin" lands here)."""
        if obj.pk is None:
            return "—"
        links = [
            format_html(
                '<a href="{}?topology={}">{} ({})</a>',
                reverse(f"admin:flows_{model._meta.model_name}_changelist"),
                obj.pk,
                label,
                model._default_manager.filter(**{path: obj}).count(),
            )
            for label, model, path in TOPOLOGY_PARTS
        ]
        dashboard = format_html('<a href="{}">dashboard</a>', obj.get_absolute_url())
        return format_html_join(" · ", "{}", ((link,) for link in [*links, dashboard]))

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
    list_filter = ["kind", topology_filter("topology")]
    search_fields = ["name", "source", "topology__name"]
    list_select_related = ["topology"]


@admin.register(MessageChannel)
class MessageChannelAdmin(JSONAdminMixin, admin.ModelAdmin):
    list_display = ["name", "kind", "topology", "fifo", "max_receives", "dead_letter_queue"]
    list_filter = ["kind", topology_filter("topology"), "fifo", "archive_enabled"]
    search_fields = ["name", "description", "topology__name"]
    list_select_related = ["topology", "dead_letter_queue"]
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
    list_filter = [topology_filter("topology"), "paused"]
    list_editable = ["rate", "paused"]
    search_fields = ["name", "channel__name", "topology__name"]
    list_select_related = ["topology", "channel"]
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
    list_filter = [topology_filter("topology"), "online", "idempotent"]
    list_editable = ["online", "failure_rate"]
    search_fields = ["name", "service", "topology__name"]
    list_select_related = ["topology", "expected_type"]
    autocomplete_fields = ["expected_type"]


@admin.register(Subscription)
class SubscriptionAdmin(JSONAdminMixin, HistoryAdmin):
    list_display = ["__str__", "topology", "channel", "subscriber", "filtered", "is_mirror"]
    list_filter = [
        topology_filter("channel__topology"),
        used_filter("channel", MessageChannel, title="channel", parameter="channel"),
        used_filter("consumer", Consumer, title="consumer", parameter="consumer"),
        "filter_scope",
    ]
    search_fields = [
        "channel__name",
        "consumer__name",
        "target_channel__name",
        "channel__topology__name",
    ]
    autocomplete_fields = ["channel", "consumer", "target_channel", "dead_letter_queue"]
    list_select_related = [
        "channel__topology",
        "consumer",
        "target_channel",
        "mirror_of__channel",
        "mirror_of__consumer",
    ]

    @admin.display(description="topology", ordering="channel__topology__name")
    def topology(self, obj: Subscription) -> str:
        return obj.channel.topology.name

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
class RuleAdmin(JSONAdminMixin, HistoryAdmin):
    form = RuleAdminForm
    list_display = ["name", "topology", "bus_name", "enabled", "version", "target_names"]
    list_filter = [
        topology_filter("bus__topology"),
        used_filter("bus", MessageChannel, title="bus", parameter="bus"),
        "enabled",
    ]
    search_fields = ["name", "description", "bus__name", "bus__topology__name"]
    list_select_related = ["bus__topology"]
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
        return (
            super()
            .get_queryset(request)
            .annotate(n_targets=Count("targets"))
            .prefetch_related("targets__channel", "targets__consumer")
        )

    @admin.display(description="topology", ordering="bus__topology__name")
    def topology(self, obj: Rule) -> str:
        return obj.bus.topology.name

    @admin.display(description="bus", ordering="bus__name")
    def bus_name(self, obj: Rule) -> str:
        return obj.bus.name

    @admin.display(description="targets", ordering="n_targets")
    def target_names(self, obj: Rule) -> str:
        return ", ".join(t.destination_name for t in obj.targets.all()) or "—"

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "bus":
            kwargs["queryset"] = MessageChannel.objects.filter(kind="bus")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    # A rule and its targets are saved as one change by rules.rule_save, which alone
    # decides the version. The change form saves targets through inline formsets, so the
    # rule is written in save_related; the history (revert) form has no inlines and no
    # save_related, so it is written in save_model.

    def history_form_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        request._rule_form_without_inlines = True  # type: ignore[attr-defined]
        return super().history_form_view(request, *args, **kwargs)

    def save_model(self, request: HttpRequest, obj: Rule, form: Any, change: bool) -> None:
        if getattr(request, "_rule_form_without_inlines", False):
            self._rule_save(request, form, save_targets=None)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        def save_targets(rule: Rule) -> None:
            super(RuleAdmin, self).save_related(request, form, formsets, change)

        self._rule_save(request, form, save_targets=save_targets)

    def _rule_save(self, request: HttpRequest, form: Any, save_targets: Any) -> None:
        rules.rule_save(
            rule=form.instance,
            save_targets=save_targets,
            loaded_version=form.cleaned_data.get("loaded_version"),
            actor=request.user,
            reason="admin",
        )

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
    list_display = [
        "rule",
        "destination",
        "topology",
        "transformed",
        "max_retries",
        "dead_letter_queue",
    ]
    list_display_links = ["rule", "destination"]
    list_filter = [
        topology_filter("rule__bus__topology"),
        used_filter("rule", Rule, title="rule", parameter="rule"),
        used_filter("channel", MessageChannel, title="channel", parameter="channel"),
        used_filter("consumer", Consumer, title="consumer", parameter="consumer"),
    ]
    search_fields = ["rule__name", "channel__name", "consumer__name", "rule__bus__topology__name"]
    autocomplete_fields = ["rule", "channel", "consumer", "dead_letter_queue"]
    list_select_related = ["rule__bus__topology", "channel", "consumer", "dead_letter_queue"]

    @admin.display(description="topology", ordering="rule__bus__topology__name")
    def topology(self, obj: Target) -> str:
        return obj.rule.bus.topology.name

    @admin.display(description="destination")
    def destination(self, obj: Target) -> str:
        return str(obj.channel) if obj.channel_id else f"{obj.destination_name} (consumer)"

    @admin.display(description="input transformer", boolean=True)
    def transformed(self, obj: Target) -> bool:
        return obj.has_transformer


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ["pk", "topology", "status", "seed", "started_at", "stopped_at", "last_seq"]
    list_filter = ["status", topology_filter("topology")]
    readonly_fields = ["topology", "seed", "started_at", "stopped_at", "last_seq", "counters_json"]
    exclude = ["counters"]

    @admin.display(description="counters")
    def counters_json(self, obj: Run) -> str:
        return pretty_json(obj.counters)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # runs are started from the dashboard or `manage.py runstart`


@admin.register(Hop)
class HopAdmin(admin.ModelAdmin):
    """Persisted hops, view-only, with the names of nodes and edges instead of their ids."""

    list_display = ["seq", "run", "type", "stage", "from_name", "to_name", "edge_name", "attempt"]
    list_filter = ["stage", "kind", topology_filter("run__topology")]
    search_fields = ["msg", "type"]
    readonly_fields = [
        *(f.name for f in Hop._meta.fields if f.name not in ("detail", "from_node", "to_node")),
        "from_name",
        "to_name",
        "edge_name",
        "detail_json",
    ]
    exclude = ["detail", "from_node", "to_node", "edge"]
    list_select_related = ["run"]
    actions = None  # nothing to do to a hop: it is a record of what happened

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)
        rows = list(changelist.result_list)
        labels = selectors.node_labels(
            value for hop in rows for value in (hop.from_node, hop.to_node, hop.edge)
        )
        for hop in rows:
            hop.labels = labels
        return changelist

    @staticmethod
    def _label(obj: Hop, value: str) -> str:
        if not value:
            return "—"
        labels = getattr(obj, "labels", None)
        if labels is None:  # the change page: one hop
            labels = obj.labels = selectors.node_labels([obj.from_node, obj.to_node, obj.edge])
        return labels.get(value, value)

    @admin.display(description="from", ordering="from_node")
    def from_name(self, obj: Hop) -> str:
        return self._label(obj, obj.from_node)

    @admin.display(description="to", ordering="to_node")
    def to_name(self, obj: Hop) -> str:
        return self._label(obj, obj.to_node)

    @admin.display(description="edge", ordering="edge")
    def edge_name(self, obj: Hop) -> str:
        return self._label(obj, obj.edge)

    @admin.display(description="detail")
    def detail_json(self, obj: Hop) -> str:
        return pretty_json(obj.detail)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
