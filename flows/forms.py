"""Admin forms: the JSON editor field and widget, and the rule form."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from flows import rules, validators
from flows.models import Rule


class PrettyJSONField(forms.JSONField):
    """Shows stored JSON indented, in a monospaced box, instead of on one long line.

    Broken JSON is refused with what is wrong and where (line and column), as the rule
    sandbox says it; ``[]`` and ``{}`` are JSON the person typed, not an empty field, so
    the model's validation says what is wrong with them.
    """

    empty_values = [None, ""]

    def to_python(self, value: Any) -> Any:
        if not self.disabled and isinstance(value, str) and value.strip():
            try:
                json.loads(value, cls=self.decoder)
            except json.JSONDecodeError as exc:
                raise ValidationError(validators.json_syntax_error(exc), code="invalid") from None
        return super().to_python(value)

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


class RuleAdminForm(forms.ModelForm):
    """Refuses to overwrite a rule someone else saved after this form was opened."""

    loaded_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Rule
        fields = ["bus", "name", "description", "event_pattern", "enabled"]
        help_texts = {
            "version": "Raised when how the rule routes changes: its pattern, enabled, bus, "
            "or a target (destination, transformer, retries, dead-letter queue). Hops record it."
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # The stored version, not the instance's: a revert form's instance is the old one.
            stored = Rule.objects.filter(pk=self.instance.pk).values_list("version", flat=True)
            self.fields["loaded_version"].initial = stored.first()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        # Checked here too, so a stale form is shown again with the reason (rule_save
        # checks once more under a row lock).
        rules.rule_check_version(rule=self.instance, loaded_version=cleaned.get("loaded_version"))
        return cleaned

    def _get_validation_exclusions(self) -> set[str]:
        # Rule.clean() validates the pattern and says what is wrong with [] or {};
        # the model field's own check would only add "This field cannot be blank."
        exclude = super()._get_validation_exclusions()
        exclude.add("event_pattern")
        return exclude


class ImportForm(forms.Form):
    """The upload form for a CloudFormation/SAM template or an AsyncAPI document."""

    document = forms.FileField(label="File")
    format = forms.ChoiceField(label="Format", choices=[], initial="auto")
    slug = forms.SlugField(label="Slug", required=False, max_length=100)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from flows.formats.imports import FORMATS, MAX_UPLOAD_BYTES

        super().__init__(*args, **kwargs)
        self.fields["format"].choices = list(FORMATS.items())
        self.max_bytes = MAX_UPLOAD_BYTES

    def clean_document(self) -> Any:
        upload = self.cleaned_data["document"]
        # Refused on its size before a byte of it is read.
        if upload.size > self.max_bytes:
            raise ValidationError(
                f"The file is {upload.size:,} bytes; at most {self.max_bytes:,} are read.",
                code="too_large",
            )
        return upload
