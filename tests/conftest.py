"""Set-up shared by every test: nothing a test runs reads or writes the user's own cache.

The command line keeps validated definitions in a cache directory
(:mod:`sloctl.loading.definition_cache`); every test, and every ``sloctl`` process a test
starts, uses one directory of this run's own instead, so that no test depends on what an
earlier run (or the user) left there.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from sloctl.loading.definition_cache import CACHE_ENV


@pytest.fixture(scope="session", autouse=True)
def own_definitions_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    before = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(tmp_path_factory.mktemp("definitions-cache"))
    yield
    if before is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = before
