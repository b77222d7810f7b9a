"""Console forms for consent changes, preferences, DND, the consent search and CSV uploads."""

from __future__ import annotations

from django import forms

from channels_app.consent.schemas import ConsentError
from channels_app.models.consent import (
    CHANNEL_CHOICES,
    DND_CATEGORIES,
    PURPOSE_CHOICES,
    SOURCE_CHOICES,
    ImportJob,
)
from console.models import LANGUAGES

ANY = [("", "any")]
STATUS_CHOICES = [("granted", "Granted"), ("withdrawn", "Withdrawn")]


def form_errors_from(form: forms.Form, exc: ConsentError) -> None:
    """Put a service's ConsentError messages on the form fields that exist, else on the form."""
    for name, messages in exc.fields.items():
        target = name if name in form.fields else None
        for message in messages:
            form.add_error(target, message if target else f"{name}: {message}")


class ConsentChangeForm(forms.Form):
    channel = forms.ChoiceField(choices=CHANNEL_CHOICES)
    purpose = forms.ChoiceField(choices=PURPOSE_CHOICES)
    status = forms.ChoiceField(choices=STATUS_CHOICES)
    reason = forms.CharField(
        max_length=500,
        error_messages={"required": "Give the reason: what the customer asked for, and how."},
        widget=forms.TextInput(
            attrs={
                "placeholder": "e.g. Customer asked on the phone to stop offers",
                "autocomplete": "off",
            }
        ),
    )
    proof = forms.CharField(
        max_length=500,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "Ticket or call reference (optional)"}),
    )


class PreferencesForm(forms.Form):
    preferred_1 = forms.ChoiceField(
        choices=[("", "—")] + CHANNEL_CHOICES, required=False, label="First choice"
    )
    preferred_2 = forms.ChoiceField(
        choices=[("", "—")] + CHANNEL_CHOICES, required=False, label="Second choice"
    )
    preferred_3 = forms.ChoiceField(
        choices=[("", "—")] + CHANNEL_CHOICES, required=False, label="Third choice"
    )
    language = forms.ChoiceField(choices=LANGUAGES)
    quiet_start = forms.TimeField(
        required=False,
        label="Quiet from",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    quiet_end = forms.TimeField(
        required=False,
        label="Quiet until",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    do_not_call = forms.BooleanField(required=False, label="Do not call")

    def changes(self) -> dict:
        data = self.cleaned_data
        order = [data[f"preferred_{i}"] for i in (1, 2, 3) if data[f"preferred_{i}"]]
        return {
            "preferred_channels": order,
            "language": data["language"],
            "quiet_start": data["quiet_start"],
            "quiet_end": data["quiet_end"],
            "do_not_call": data["do_not_call"],
        }


class DndForm(forms.Form):
    dnd = forms.BooleanField(required=False, label="Registered on NCPR / DND")
    categories = forms.TypedMultipleChoiceField(
        choices=[(k, f"{k}. {v}") for k, v in DND_CATEGORIES.items()],
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Blocked categories (none ticked = fully blocked)",
    )
    source = forms.CharField(
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "e.g. NCPR scrub 2026-12"}),
    )


class ConsentSearchForm(forms.Form):
    customer = forms.CharField(required=False)
    channel = forms.ChoiceField(choices=ANY + CHANNEL_CHOICES, required=False)
    purpose = forms.ChoiceField(choices=ANY + PURPOSE_CHOICES, required=False)
    status = forms.ChoiceField(choices=ANY + STATUS_CHOICES, required=False)
    source = forms.ChoiceField(choices=ANY + SOURCE_CHOICES, required=False)
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(choices=ImportJob.KINDS, label="What the file holds")
    file = forms.FileField(
        label="CSV file (UTF-8)",
        error_messages={"required": "Choose a CSV file to upload."},
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(".csv"):
            raise forms.ValidationError("Upload a .csv file (save the sheet as CSV UTF-8).")
        if upload.size == 0:
            raise forms.ValidationError("The file is empty; it needs a header row and data rows.")
        return upload
