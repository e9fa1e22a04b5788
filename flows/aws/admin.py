"""Admin for API keys: issue one (its secret is shown once, on the next page), list, revoke."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from flows.aws import credentials
from flows.aws.models import ApiKey, ApiKeyScope


class ApiKeyForm(forms.ModelForm):
    account_id = forms.CharField(
        required=False,
        max_length=12,
        help_text="12 digits; empty: the topology's number, so its keys share ARNs.",
    )

    class Meta:
        model = ApiKey
        fields = ["topology", "user", "scope", "account_id", "description"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = [
        "access_key_id",
        "topology",
        "user",
        "scope",
        "account_id",
        "created_at",
        "last_used_at",
        "status",
    ]
    list_filter = ["scope", "topology", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["access_key_id", "description", "user__username", "topology__slug"]
    readonly_fields = ["access_key_id", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    @admin.display(description="status")
    def status(self, key: ApiKey) -> str:
        return "active" if key.is_active else f"revoked {key.revoked_at:%Y-%m-%d %H:%M}"

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> list[str]:
        if obj is None:
            return ["topology", "user", "scope", "account_id", "description"]
        return [
            "access_key_id",
            "topology",
            "user",
            "scope",
            "account_id",
            "description",
            "created_at",
            "last_used_at",
            "revoked_at",
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> list[str]:
        if obj is None:
            return []
        # A key's reach is fixed at issue: issue another one rather than widen this one.
        return [*self.readonly_fields, "topology", "scope", "account_id"]

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        key, secret = credentials.apikey_issue(
            topology=obj.topology,
            user=obj.user,
            read_only=obj.scope == ApiKeyScope.READ_ONLY,
            account_id=form.cleaned_data.get("account_id") or None,
            description=obj.description,
        )
        obj.pk = key.pk
        obj.access_key_id = key.access_key_id
        endpoint = request.build_absolute_uri("/aws")
        lines = credentials.env_lines(
            endpoint_url=endpoint, key=key, secret=secret, region="us-east-1"
        )
        # The only time the secret is shown: it is stored encrypted and never displayed.
        messages.warning(
            request,
            format_html(
                "Secret access key for {}: <code>{}</code> — copy it now, it is not shown "
                "again. To use it:<pre>{}</pre>",
                key.access_key_id,
                secret,
                "\n".join(lines),
            ),
        )

    def has_delete_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False  # revoke instead, so "last used" and who held it stay on record

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        count = 0
        for key in queryset.filter(revoked_at__isnull=True):
            credentials.apikey_revoke(key=key)
            count += 1
        self.message_user(request, f"Revoked {count} key(s) at {timezone.now():%H:%M:%S}.")
