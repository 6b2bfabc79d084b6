from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.channels.sms.helpers import Gateway


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    stand_in = Gateway()
    yield stand_in
    stand_in.close()
