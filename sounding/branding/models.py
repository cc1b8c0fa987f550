"""A workspace's brand, and each survey's overrides of it.

A survey's override is empty ("use the workspace's") or a value of its own, field by field.
Logos are kept in the database, addressed by their content hash: the URL of a logo never
changes meaning, so browsers may keep it for a year.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from sounding.accounts.models import User, Workspace
from sounding.surveys.models import Survey

DEFAULT_ACCENT = "#3D3AB8"  # the respondent pages' own accent


class Shape(models.TextChoices):
    ROUNDED = "rounded", "Rounded"
    PILL = "pill", "Pill"
    SQUARE = "square", "Square"


class Fill(models.TextChoices):
    FILLED = "filled", "Filled"
    OUTLINE = "outline", "Outline"


class Font(models.TextChoices):
    SYSTEM = "system", "System UI"
    HUMANIST = "humanist", "Humanist"
    GEOMETRIC = "geometric", "Geometric"
    SERIF = "serif", "Classical serif"
    MONO = "mono", "Monospace"


# Fonts already on people's devices: nothing is downloaded, from here or from another host.
FONT_STACKS = {
    Font.SYSTEM: 'system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif',
    Font.HUMANIST: (
        'Seravek,"Gill Sans Nova",Ubuntu,Calibri,"DejaVu Sans",source-sans-pro,sans-serif'
    ),
    Font.GEOMETRIC: (
        'Avenir,"Avenir Next",Montserrat,Corbel,"URW Gothic",source-sans-pro,sans-serif'
    ),
    Font.SERIF: 'Charter,"Bitstream Charter","Sitka Text",Cambria,Georgia,serif',
    Font.MONO: (
        'ui-monospace,"Cascadia Code","Source Code Pro",Menlo,Consolas,"DejaVu Sans Mono",monospace'
    ),
}


class Logo(models.Model):
    """An uploaded logo's bytes. The same image uploaded twice in a workspace is one row."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="logos")
    sha256 = models.CharField(max_length=64, db_index=True)
    content_type = models.CharField(max_length=20)
    data = models.BinaryField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveIntegerField(default=0)  # bytes, so pages can weigh it unread
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "sha256"], name="one_logo_per_image")
        ]

    def __str__(self) -> str:
        return f"{self.sha256[:12]} ({self.content_type})"


class WorkspaceBrand(models.Model):
    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="brand")
    accent = models.CharField(max_length=7, default=DEFAULT_ACCENT)
    button_shape = models.CharField(max_length=10, choices=Shape.choices, default=Shape.ROUNDED)
    button_fill = models.CharField(max_length=10, choices=Fill.choices, default=Fill.FILLED)
    font = models.CharField(max_length=10, choices=Font.choices, default=Font.SYSTEM)
    logo = models.ForeignKey(
        Logo, null=True, blank=True, on_delete=models.SET_NULL, related_name="workspace_brands"
    )
    logo_alt = models.CharField(max_length=150, blank=True)  # empty: the workspace's name
    # Shown instead of `logo` to people whose device is in dark mode: a dark logo on a dark
    # page disappears.
    logo_dark = models.ForeignKey(
        Logo, null=True, blank=True, on_delete=models.SET_NULL, related_name="dark_brands"
    )
    # The thank-you screen links back to it ("Back to Acme"); empty: no link.
    website = models.URLField(max_length=300, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL)

    def __str__(self) -> str:
        return f"brand of workspace {self.workspace_id}"


class LogoChoice(models.TextChoices):
    WORKSPACE = "", "The workspace’s logo"
    OWN = "own", "A logo of its own"
    NONE = "none", "No logo"


class SurveyBrand(models.Model):
    """A survey's overrides; an empty field means "as the workspace has it"."""

    survey = models.OneToOneField(Survey, on_delete=models.CASCADE, related_name="brand")
    accent = models.CharField(max_length=7, blank=True)
    button_shape = models.CharField(max_length=10, choices=Shape.choices, blank=True)
    button_fill = models.CharField(max_length=10, choices=Fill.choices, blank=True)
    font = models.CharField(max_length=10, choices=Font.choices, blank=True)
    logo_choice = models.CharField(
        max_length=10, choices=LogoChoice.choices, blank=True, default=LogoChoice.WORKSPACE
    )
    logo = models.ForeignKey(
        Logo, null=True, blank=True, on_delete=models.SET_NULL, related_name="survey_brands"
    )
    logo_alt = models.CharField(max_length=150, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL)

    def __str__(self) -> str:
        return f"brand of survey {self.survey_id}"
