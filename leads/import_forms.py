"""Forms for the list-import pages: the upload, and the column mapping with the campaign."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.utils.text import slugify

from leads.imports import IMPORT_FIELDS
from leads.models import Campaign, ImportJob, Source

#: How each lead field is named in the mapping drop-downs.
FIELD_LABELS = {
    "external_id": "Record ID (external_id)",
    "first_name": "First name",
    "last_name": "Last name",
    "email": "E-mail",
    "phone": "Phone",
    "company": "Company",
    "website": "Website",
    "title": "Job title",
    "industry": "Industry",
    "employees": "Employees",
    "street": "Street",
    "city": "City",
    "state": "State / region",
    "postal_code": "Postal code",
    "country": "Country",
    "source": "Source (as written)",
    "campaign": "Campaign slug",
}
KEEP_AS_EXTRA = "Keep as extra field"
MAPPING_CHOICES = [("", KEEP_AS_EXTRA)] + [
    (name, FIELD_LABELS.get(name, name.replace("_", " ").capitalize())) for name in IMPORT_FIELDS
]
ACCEPT = ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class CampaignChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Campaign) -> str:
        return f"{obj.name} · {obj.source.name}" if obj.source else obj.name


def _campaign_field() -> CampaignChoiceField:
    return CampaignChoiceField(
        queryset=Campaign.objects.select_related("source").order_by("name"),
        required=False,
        empty_label="No campaign",
        help_text="Every imported lead joins it, unless its row names another.",
    )


class ImportUploadForm(forms.Form):
    """The file and where its leads come from: an existing source, or a new one named here."""

    file = forms.FileField(
        label="File",
        allow_empty_file=True,  # the import service says why an empty file cannot be imported
        widget=forms.FileInput(attrs={"accept": ACCEPT}),
    )
    source = forms.ModelChoiceField(
        queryset=Source.objects.filter(is_active=True).order_by("name"),
        required=False,
        empty_label="Choose a source…",
    )
    new_source = forms.CharField(
        label="Or a new source",
        max_length=120,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "e.g. Spring Expo 2026", "autocomplete": "off"}),
    )
    campaign = _campaign_field()

    def __init__(self, *args: Any, user: AbstractBaseUser, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        megabytes = settings.IMPORT_MAX_BYTES // 1_000_000
        self.fields["file"].help_text = f"CSV or Excel (.xlsx), up to {megabytes} MB; the first row names the columns."
        if not user.has_perm("leads.add_source"):
            del self.fields["new_source"]

    def clean_file(self) -> UploadedFile:
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(f"The file is larger than {settings.IMPORT_MAX_BYTES // 1_000_000} MB.")
        return upload

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        source, new_name = cleaned.get("source"), cleaned.get("new_source", "").strip()
        if source and new_name:
            self.add_error("new_source", "Choose a source or name a new one, not both.")
        elif not source and not new_name and not self.has_error("source"):
            self.add_error("source", "Choose the source of these leads.")
        elif new_name and not slugify(new_name):
            self.add_error("new_source", "Use letters or digits in the name.")
        return cleaned

    @property
    def new_source_slug(self) -> str:
        return slugify(self.cleaned_data.get("new_source", ""))[:60]


class ImportMappingForm(forms.Form):
    """One drop-down per column of the file, prefilled with the suggested mapping, and the campaign."""

    campaign = _campaign_field()

    def __init__(self, *args: Any, job: ImportJob, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.job = job
        self.fields["campaign"].initial = job.campaign_id
        for index, header in enumerate(job.headers):
            self.fields[self.column_name(index)] = forms.ChoiceField(
                label=header, choices=MAPPING_CHOICES, required=False, initial=job.mapping.get(header, "")
            )

    @staticmethod
    def column_name(index: int) -> str:
        return f"column_{index}"

    def columns(self) -> Iterator[forms.BoundField]:
        """The mapping drop-downs, in the file's column order."""
        for index in range(len(self.job.headers)):
            yield self[self.column_name(index)]

    @property
    def mapping(self) -> dict[str, str]:
        """{column header: lead field or "" for an extra field}, from the valid form."""
        return {header: self.cleaned_data[self.column_name(i)] for i, header in enumerate(self.job.headers)}
