"""API keys: who may call the AWS-compatible endpoint, for which topology, and how."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q


class ApiKeyScope(models.TextChoices):
    READ_WRITE = "read-write", "Read and write"
    READ_ONLY = "read-only", "Read only (List*, Get*, Describe*, TestEventPattern)"


class ApiKey(models.Model):
    """An (access key id, secret) pair issued to a user for one topology.

    SigV4 is an HMAC keyed with the raw secret, so the server must be able to recover it:
    a hash would not do. The secret is stored encrypted (Fernet, with a key derived from
    ``SECRET_KEY``; see ``flows.aws.credentials``), never shown again after issue.
    Rotating ``SECRET_KEY`` therefore invalidates every key: issue new ones.
    """

    access_key_id = models.CharField(max_length=20, unique=True, editable=False)
    secret_encrypted = models.TextField(editable=False)
    account_id = models.CharField(
        max_length=12,
        validators=[RegexValidator(r"^\d{12}$", "An AWS account id is 12 digits.")],
        help_text="The account in the ARNs and queue URLs this key sees.",
    )
    topology = models.ForeignKey(
        "flows.Topology", on_delete=models.CASCADE, related_name="api_keys"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="eventviz_api_keys",
    )
    scope = models.CharField(
        max_length=10, choices=ApiKeyScope.choices, default=ApiKeyScope.READ_WRITE
    )
    description = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"
        constraints = [
            models.CheckConstraint(
                condition=Q(scope__in=["read-write", "read-only"]), name="apikey_scope_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.access_key_id} ({self.topology_id and self.topology.slug}, {self.scope})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def read_only(self) -> bool:
        return self.scope == ApiKeyScope.READ_ONLY
