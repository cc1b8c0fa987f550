import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("branding", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="workspacebrand",
            name="logo_dark",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="dark_brands",
                to="branding.logo",
            ),
        ),
        migrations.AddField(
            model_name="workspacebrand",
            name="website",
            field=models.URLField(blank=True, max_length=300),
        ),
    ]
