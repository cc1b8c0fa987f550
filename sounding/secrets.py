"""What error pages and reports may show: nothing that opens the installation.

Django's own filter hides settings named like API, KEY, PASS, SECRET, SIGNATURE and TOKEN.
`DATABASE_URL` carries the database password and `SOUNDING_EMAIL_URL` the SMTP one, under
names that match none of those, in the settings and in the environment a debug page lists.
"""

from __future__ import annotations

import re
from typing import Any

from django.views.debug import SafeExceptionReporterFilter

SECRET_NAMES = re.compile(
    r"API|TOKEN|KEY|SECRET|PASS|SIGNATURE|COOKIE|DATABASE|_URL$|EMAIL_HOST_USER|DSN",
    flags=re.IGNORECASE,
)


class SecretsFilter(SafeExceptionReporterFilter):
    hidden_settings = SECRET_NAMES

    def is_active(self, request: Any) -> bool:
        # Django shows marked POST parameters on debug pages; a debug page on a server anyone
        # can reach would then show a destination's API key just typed in.
        return True

    def get_safe_request_meta(self, request: Any) -> dict[str, Any]:
        meta = super().get_safe_request_meta(request)
        return {
            key: self.cleansed_substitute if SECRET_NAMES.search(key) else value
            for key, value in meta.items()
        }
