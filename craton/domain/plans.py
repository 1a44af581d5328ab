"""A consolidation plan is an aggregate: computed once, then perhaps executed."""

from __future__ import annotations

from craton.domain.inventory import AGGREGATES
from craton.domain.resource import Resource

COMPUTED = "computed"
EXECUTING = "executing"
EXECUTED = "executed"
PARTIALLY_EXECUTED = "partially-executed"
FAILED = "failed"
# A plan is executed at most once: only a computed plan may start a run, and the
# run's end leaves the plan executed, partially executed or failed.


class Plan(Resource):
    """Where instances should go and which hosts that frees, as of one position."""

    KIND = "plan"


AGGREGATES[Plan.KIND] = Plan
