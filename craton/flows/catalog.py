"""The installed workflows: stevedore plugins in the ``craton.flows`` namespace.

Each entry point names a :class:`Workflow`: a description, the JSON schema
of its parameters, how parameters become targets, the module-level factory
TaskFlow calls (again, on resume) to build the flow, and what a run's end
settles beyond the run itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from sqlalchemy import Connection
from stevedore import ExtensionManager

from craton.application import Ledger
from craton.domain.errors import InvalidInput
from craton.domain.ids import MAX_ID
from craton.domain.meta import Meta
from craton.domain.runs import Run
from craton.drivers.loader import driver_class, installed_drivers
from craton.flows import NAMESPACE


def id_parameter(description: str) -> dict[str, Any]:
    """The JSON schema of a parameter naming one resource by id."""
    return {"type": "integer", "minimum": 0, "maximum": MAX_ID, "description": description}


def batch_parameters(per_batch: str) -> dict[str, Any]:
    """``batch_size`` (``per_batch`` says of what) and ``max_retries`` of a batched run."""
    return {
        "batch_size": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 10,
                       "description": per_batch},
        "max_retries": {"type": "integer", "minimum": 0, "maximum": 20, "default": 3,
                        "description": "retries of a failed migration before hand-over"},
    }


def target_host_ids(targets: dict[str, Any]) -> list[int]:
    """The ids of the hosts a run's targets name (its driver's world)."""
    return [h["id"] for h in targets["hosts"]]


DRIVER_PARAMETERS: dict[str, Any] = {
    "driver": {"type": "string", "default": "simulator",
               "description": "the fleet driver plugin (craton.drivers) to act through"},
    "driver_config": {"type": "object", "default": {},
                      "description": "settings for the driver (the simulator's faults, say)"},
}


# A hand-over: the step it belongs to, the id of what is handed over, and why.
HandOver = tuple[str, int, str]


def nothing_left(conn: Connection, run: Any, targets: dict[str, Any]) -> list[HandOver]:
    """What a cancelled run of a workflow that leaves nothing half done hands over."""
    return []


def nothing_to_settle(ledger: Ledger, conn: Connection, meta: Meta, run: Run) -> None:
    """How a run of a workflow that leaves nothing but its own record settles."""


# What a run's end settles, given (ledger, conn, meta, run): see Workflow.
Settle = Callable[[Ledger, Connection, Meta, Run], None]


@dataclass(frozen=True)
class Workflow:
    """One kind of run: what it does, what it takes, how it is built, what a cancel
    that stops it part way leaves for a person (``left_behind``), and what else a
    run's end settles (``settle``).

    ``settle(ledger, conn, meta, run)`` is called when a run ends, however it
    ends (succeeded, failed, cancelled before or after a worker took it), in the
    write transaction that records the end, after the run is saved: ``run`` is
    the ended aggregate (its state, steps and hand-overs final), ``conn`` that
    transaction's connection, ``meta`` what the events it records carry. What it
    records commits with the run's end or not at all; what it raises undoes the
    end. A worker that finds a run ended but still queued calls it (perhaps
    again) as it takes the run off the queue, so it must leave alone what it
    finds already settled.
    """

    name: str
    description: str
    schema: dict[str, Any]
    targets: Callable[[Connection, Meta, dict[str, Any]], dict[str, Any]]
    factory: Callable[[str, dict[str, Any]], Any]
    world: Callable[[dict[str, Any]], list[int]]
    left_behind: Callable[[Connection, Any, dict[str, Any]], list[HandOver]] = nothing_left
    settle: Settle = nothing_to_settle

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description,
                "parameters": self.schema}

    def validate(self, parameters: Any) -> dict[str, Any]:
        """Parameters with defaults filled in, or InvalidInput naming every problem."""
        if not isinstance(parameters, dict):
            raise InvalidInput("parameters must be an object",
                               {"parameters": ["must be an object"]})
        problems: dict[str, list[str]] = {}
        for error in Draft202012Validator(self.schema).iter_errors(parameters):
            where = ".".join(str(p) for p in error.absolute_path) or "parameters"
            problems.setdefault(where, []).append(error.message)
        if "driver" not in problems:
            problems.update(driver_problems(parameters.get("driver", "simulator"),
                                            parameters.get("driver_config", {}),
                                            "driver_config" in problems))
        if problems:
            summary = "; ".join(f"{k}: {', '.join(v)}" for k, v in sorted(problems.items()))
            raise InvalidInput(f"invalid parameters for {self.name}: {summary}", problems)
        out = dict(parameters)
        for key, prop in self.schema.get("properties", {}).items():
            if key not in out and "default" in prop:
                out[key] = prop["default"]
        return out


def driver_problems(name: Any, config: Any, config_refused: bool) -> dict[str, list[str]]:
    """A driver that is not installed, or what the driver finds wrong with its settings
    (unless they were already refused)."""
    if not isinstance(name, str):
        return {}
    cls = driver_class(name)
    if cls is None:
        known = ", ".join(installed_drivers()) or "none"
        return {"driver": [f"no fleet driver named {name!r} is installed "
                           f"(installed: {known})"]}
    if config_refused or not isinstance(config, dict):
        return {}
    found = cls.validate_config(config)
    return {"driver_config": found} if found else {}


def parameters_schema(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False,
            "properties": {**properties, **DRIVER_PARAMETERS}, **extra}


_manager: list[ExtensionManager[Workflow]] = []


def manager() -> ExtensionManager[Workflow]:
    if not _manager:
        _manager.append(ExtensionManager(namespace=NAMESPACE, invoke_on_load=False))
    return _manager[0]


def use(mgr: ExtensionManager[Workflow] | None) -> None:
    """Replace the installed workflows (tests build one with make_test_instance)."""
    _manager[:] = [mgr] if mgr is not None else []


def workflows() -> dict[str, Workflow]:
    return {ext.name: ext.plugin for ext in manager()}  # type: ignore[misc]


def settle_run(ledger: Ledger, conn: Connection, meta: Meta, run: Run) -> None:
    """Call the ``settle`` of an ended run's workflow (none, if it is not installed)."""
    found = workflows().get(str(run.fields.get("workflow")))
    if found is not None:
        found.settle(ledger, conn, meta, run)


def workflow(name: str) -> Workflow:
    found = workflows().get(name)
    if found is None:
        known = ", ".join(sorted(workflows())) or "none"
        raise InvalidInput(f"no workflow named {name!r} (installed: {known})",
                           {"workflow": [f"unknown workflow {name!r}"]})
    return found
