"""Shared set-up of the unit tests.

The command line imports a command's modules only when it runs. A test that runs a command
under ``freezegun.freeze_time`` would then have pydantic build that module's models while
``datetime`` is freezegun's ``FakeDatetime``, which pydantic cannot make a schema for; which
test did so first would depend on the order the tests run in. The modules holding pydantic
models are imported here, before any clock is frozen.
"""

import sloctl.loading.config
import sloctl.loading.definitions
import sloctl.loading.maintenance_file
import sloctl.loading.policy_file
import sloctl.loading.schedule_file  # noqa: F401
