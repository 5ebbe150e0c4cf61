"""Search attributes operators filter runs by in the Temporal Web UI."""

from temporalio.common import SearchAttributeKey

TENANT_ID = SearchAttributeKey.for_keyword("TenantId")
PROJECT_ID = SearchAttributeKey.for_keyword("ProjectId")
STEP = SearchAttributeKey.for_keyword("Step")
STATUS = SearchAttributeKey.for_keyword("Status")

ALL = (TENANT_ID, PROJECT_ID, STEP, STATUS)
