"""Response, Answer and LinkClick, moved here from `collect` with their tables (`collect_*`):
the models change app, no row or table does."""

import django.db.models.deletion
import django.utils.timezone
import sounding.answers.models
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('collect', '0004_link_clicks'),
        ('surveys', '0003_declared_hidden_fields'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
            migrations.CreateModel(
                name='Response',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('token', models.CharField(default=sounding.answers.models.new_token, max_length=32, unique=True)),
                    ('identity_kind', models.CharField(blank=True, max_length=12, null=True)),
                    ('identity_value', models.CharField(blank=True, max_length=255, null=True)),
                    ('braze_id', models.CharField(blank=True, max_length=255)),
                    ('external_id', models.CharField(blank=True, max_length=255)),
                    ('email', models.CharField(blank=True, max_length=255)),
                    ('hidden', models.JSONField(blank=True, default=dict)),
                    ('language', models.CharField(blank=True, max_length=10)),
                    ('started_at', models.DateTimeField(default=django.utils.timezone.now)),
                    ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                    ('completed_at', models.DateTimeField(blank=True, null=True)),
                    ('answers_version', models.PositiveIntegerField(default=0)),
                    ('erase_requested_at', models.DateTimeField(blank=True, null=True)),
                    ('survey', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='responses', to='surveys.survey')),
                ],
                options={
                    'db_table': 'collect_response',
                    'ordering': ['-started_at', '-id'],
                },
            ),
            migrations.CreateModel(
                name='Answer',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('question_key', models.CharField(max_length=64)),
                    ('value', models.JSONField()),
                    ('answered_at', models.DateTimeField(default=django.utils.timezone.now)),
                    ('response', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='answers', to='answers.response')),
                ],
                options={
                    'db_table': 'collect_answer',
                },
            ),
            migrations.CreateModel(
                name='LinkClick',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('who', models.CharField(max_length=300)),
                    ('question_key', models.CharField(max_length=64)),
                    ('value', models.CharField(max_length=255)),
                    ('method', models.CharField(max_length=4)),
                    ('at', models.DateTimeField(default=django.utils.timezone.now)),
                    ('suspected', models.BooleanField(default=False)),
                    ('confirmed_at', models.DateTimeField(blank=True, null=True)),
                    ('survey', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='surveys.survey')),
                ],
                options={
                    'db_table': 'collect_linkclick',
                    'indexes': [models.Index(fields=['survey', 'who', 'at'], name='collect_lin_survey__81b104_idx'), models.Index(fields=['at'], name='collect_lin_at_02a64c_idx')],
                },
            ),
            migrations.AddIndex(
                model_name='response',
                index=models.Index(fields=['survey', '-started_at'], name='collect_res_survey__dbda24_idx'),
            ),
            migrations.AddIndex(
                model_name='response',
                index=models.Index(condition=models.Q(('erase_requested_at__isnull', False)), fields=['erase_requested_at'], name='response_erasing'),
            ),
            migrations.AddConstraint(
                model_name='response',
                constraint=models.UniqueConstraint(fields=('survey', 'identity_kind', 'identity_value'), name='one_response_per_identity'),
            ),
            migrations.AddConstraint(
                model_name='answer',
                constraint=models.UniqueConstraint(fields=('response', 'question_key'), name='one_answer_per_question'),
            ),
    
            ],
            database_operations=[],
        )
    ]
