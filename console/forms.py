import json

from django import forms

from console.schemas import check_attributes


class AttributesForm(forms.Form):
    attributes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "class": "mono"}),
        help_text='A JSON object, e.g. {"city": "Pune", "lifetime_value": 12500}.',
    )

    def clean_attributes(self) -> dict:
        raw = self.cleaned_data["attributes"]
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise forms.ValidationError(
                f"This is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
                'write an object such as {"city": "Pune"}.'
            ) from exc
        if not isinstance(value, dict):
            raise forms.ValidationError('Write a JSON object in braces, e.g. {"city": "Pune"}.')
        try:
            return check_attributes(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc


class TimelineFilterForm(forms.Form):
    KINDS = [
        ("", "All kinds"),
        ("event", "Events"),
        ("message", "Messages"),
        ("call", "Calls"),
        ("consent", "Consent"),
        ("journey_step", "Journey steps"),
    ]
    CHANNELS = [("", "All channels"), ("sms", "SMS"), ("whatsapp", "WhatsApp"), ("voice", "Voice")]

    kind = forms.ChoiceField(choices=KINDS, required=False)
    channel = forms.ChoiceField(choices=CHANNELS, required=False)
    before = forms.CharField(required=False, widget=forms.HiddenInput)


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What uses this key, e.g. 'Order service (production)'."
    )


class AuditFilterForm(forms.Form):
    action = forms.CharField(required=False, help_text="Action prefix, e.g. apikey or auth.")
    actor = forms.CharField(required=False)
    target = forms.CharField(required=False)
