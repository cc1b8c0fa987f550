"""Create the peer's survey: `python -m peer_site.seed '<questions as JSON>'`.

Each question is {"key", "type", "text", "choices"} with the peer's own type names; the
survey takes anonymous answers on one page. Prints {"survey": id, "fields": {key: name}},
where name is the form field that carries that question's answer.
"""

import json
import sys

import django


def main() -> None:
    django.setup()
    from survey.models import Question, Survey

    survey = Survey.objects.create(
        name="Bench pulse",
        description="",
        is_published=True,
        need_logged_user=False,  # anyone with the link answers, as with Sounding's links
        editable_answers=False,  # answers belong to no account, so cannot be edited anyway
        display_method=Survey.ALL_IN_ONE_PAGE,
    )
    fields = {}
    for order, spec in enumerate(json.loads(sys.argv[1])):
        question = Question.objects.create(
            survey=survey,
            order=order,
            text=spec["text"],
            type=spec["type"],
            choices=",".join(spec["choices"]),
            required=True,
        )
        fields[spec["key"]] = f"question_{question.pk}"
    print(json.dumps({"survey": survey.pk, "fields": fields}))


if __name__ == "__main__":
    main()
