"""What the web tests share: the admin token and reading a page's CSRF token."""

from __future__ import annotations

import re

ADMIN_TOKEN = "s3cret-admin-token-for-tests"


def csrf_of(html: str) -> str:
    found = re.search(r'<meta name="csrf" content="([0-9a-f]+)">', html)
    assert found, "page carries no CSRF token"
    return found.group(1)
