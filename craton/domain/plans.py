"""A consolidation plan is an aggregate: computed once, then perhaps executed."""

from __future__ import annotations

from craton.domain.inventory import AGGREGATES
from craton.domain.resource import Resource


class Plan(Resource):
    """Where instances should go and which hosts that frees, as of one position."""

    KIND = "plan"


AGGREGATES[Plan.KIND] = Plan
