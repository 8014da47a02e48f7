# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The base of the collection's action plugins: read, plan in Python, apply.

Every module of the collection is an action plugin that speaks to Windows only through the
executor module ``pbxops.wsfc.cmdlet_pipelines``:

1. ``read_pipelines(args)``: what to read; sent in one remote round trip;
2. ``plan(args, observed)``: pure Python (``planning``), desired state versus what was read,
   giving the pipelines that would change the host and the state before and after; it raises
   ``PlanError`` to refuse the task before anything changes;
3. unless check mode, the changes are sent in one more round trip, and the state the result
   carries is what those pipelines reported (``Plan.reported``).

The result carries ``changed``, a ``diff`` (in diff mode), the new ``state``, and
``round_trips``, the number of remote calls made: remote round trips are what makes Windows
automation slow, so they are counted and kept few. Values of ``no_log`` options are masked in
the whole result, and a round trip that carries one runs the executor with ``no_log``.

This module is the thin glue to ``ActionBase``; everything that can be decided without a
connection lives in ``planning`` and ``second_hop``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator, ValidationResult
from ansible.module_utils.common.parameters import remove_values
from ansible.plugins.action import ActionBase
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.cmdlet import Pipeline
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.planning import (
    Observed,
    Plan,
    PlanError,
    check_round_trip,
)
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.second_hop import Become, second_hop_problem

__all__ = ["EXECUTOR", "ExecutorError", "Observed", "PipelineAction", "Plan", "PlanError", "observed_from"]

EXECUTOR = "pbxops.wsfc.cmdlet_pipelines"


class ExecutorError(Exception):
    """The executor module reported a failure; ``result`` is what it returned."""

    def __init__(self, result: Mapping[str, Any]) -> None:
        super().__init__(result.get("msg", "the cmdlet_pipelines module failed without a message"))
        self.result = result


class PipelineAction(ActionBase):
    """Subclasses set ``argument_spec`` (as in the module's documentation), optionally the
    relations between options (``mutually_exclusive``, ``required_if``, ... as ``AnsibleModule``
    takes them) and ``second_hop`` (the cmdlets that reach other nodes or AD, for the error when
    the credentials cannot travel there), and implement ``read_pipelines`` and ``plan``."""

    TRANSFERS_FILES = False
    _requires_connection = True
    argument_spec: dict[str, Any] = {}
    mutually_exclusive: list[Any] = []
    required_together: list[Any] = []
    required_one_of: list[Any] = []
    required_if: list[Any] = []
    required_by: dict[str, Any] = {}
    second_hop: str | None = None

    def check_arguments(self, args: Mapping[str, Any]) -> Mapping[str, Any]:
        """Checks the argument spec cannot express, before any round trip (raise ``PlanError``);
        returns the arguments the module works with (normalised: a drive letter in upper case)."""
        return args

    def read_pipelines(self, args: Mapping[str, Any]) -> list[Pipeline]:
        raise NotImplementedError

    def plan(self, args: Mapping[str, Any], observed: Observed) -> Plan:
        raise NotImplementedError

    def read_more(self, args: Mapping[str, Any], observed: Observed) -> list[Pipeline]:
        """Pipelines for a second read round trip that depends on the first (cluster cmdlets, only
        on a host where the Cluster service runs); none by default, so a read costs one trip."""
        del args, observed
        return []

    def recover_read(self, args: Mapping[str, Any], failure: Mapping[str, Any]) -> Observed | None:
        """What to plan from when the read round trip failed (``failure`` is the executor's
        result, with the ``results`` of the pipelines that ran), or None to fail the task.
        Some reads fail for a reason the plan mends: the iSCSI cmdlets, while the initiator
        service is stopped."""
        del args, failure
        return None

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = super().run(tmp, task_vars)
        del tmp
        self._round_trips = 0
        self._secrets: frozenset[str] = frozenset()
        self._validation = self._validate_arguments()
        self._secrets = frozenset(str(v) for v in self._validation._no_log_values)
        args = self._validation.validated_parameters
        result.update(self._read_plan_apply(args, task_vars or {}))
        return self._masked(result)

    def _validate_arguments(self) -> ValidationResult:
        """The task's arguments against ``argument_spec``; the result is kept as
        ``self._validation`` (its ``_no_log_values`` are masked in everything returned)."""
        validator = ArgumentSpecValidator(
            self.argument_spec,
            mutually_exclusive=self.mutually_exclusive or None,
            required_together=self.required_together or None,
            required_one_of=self.required_one_of or None,
            required_if=self.required_if or None,
            required_by=self.required_by or None,
        )
        validation = validator.validate(dict(self._task.args))
        if validation.error_messages:
            msg = validation.errors.msg
            if validation.unsupported_parameters:
                msg = f"Unsupported parameters for ({self._task.action}) module: {msg}"
            secrets = [str(v) for v in validation._no_log_values]
            # ActionBase.validate_argument_spec would attach the raw task arguments to the error.
            raise AnsibleActionFail(str(remove_values(msg, secrets)))
        return validation

    def _read_plan_apply(self, args: Mapping[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        if self.second_hop is not None:
            refusal = self._second_hop_refusal(task_vars)
            if refusal is not None:
                return {"failed": True, "changed": False, "msg": refusal, "round_trips": 0}
        applied: Observed | None = None
        plan: Plan | None = None
        try:
            args = self.check_arguments(args)
            observed = self._read(args, task_vars)
            plan = self.plan(args, observed)
            if plan.changes and not self._task.check_mode:
                applied = self._run_pipelines(list(plan.changes), task_vars)
                state = plan.state_after_apply(applied)
            else:
                state = plan.after
        except PlanError as error:
            # Raised by Plan.reported, the refusal comes after changes that did run.
            return {
                **error.details,
                "failed": True,
                "changed": applied is not None,
                "msg": error.msg,
                "round_trips": self._round_trips,
            }
        except ExecutorError as error:
            return self._executor_failure(error, plan.advice if plan is not None else {})
        result: dict[str, Any] = {
            **plan.extra,
            "changed": bool(plan.changes),
            "state": dict(state),
            "round_trips": self._round_trips,
        }
        if self._task.diff:
            result["diff"] = {"before": dict(plan.before), "after": dict(state)}
        # The plan's own warnings, then what the changing cmdlets warned about (New-Cluster writes
        # its report location there): the operator sees both.
        warned = applied.warnings.values() if applied is not None else ()
        warnings = [*plan.warnings, *(w for ws in warned for w in ws)]
        if warnings:
            result["warnings"] = warnings
        return result

    def _read(self, args: Mapping[str, Any], task_vars: dict[str, Any]) -> Observed:
        try:
            observed = self._run_pipelines(self.read_pipelines(args), task_vars)
        except ExecutorError as error:
            recovered = self.recover_read(args, error.result)
            if recovered is None:
                raise
            return recovered
        more = self._run_pipelines(self.read_more(args, observed), task_vars)
        return Observed(
            outputs={**observed.outputs, **more.outputs}, warnings={**observed.warnings, **more.warnings}
        )

    def _second_hop_refusal(self, task_vars: Mapping[str, Any]) -> str | None:
        problem = second_hop_problem(self._become(), task_vars)
        if problem is None:
            return None
        return f"{self.second_hop} must reach other nodes or Active Directory, and {problem}"

    def _become(self) -> Become:
        """The task's become settings, from the become plugin ansible-core gave the connection."""
        plugin = getattr(self._connection, "become", None)
        if not getattr(self._play_context, "become", False) or plugin is None:
            return Become()

        def option(name: str) -> Any:
            try:
                return plugin.get_option(name)
            except KeyError:
                return None

        return Become(
            enabled=True,
            method=getattr(plugin, "name", None) or getattr(self._play_context, "become_method", None),
            user=option("become_user"),
            has_password=bool(option("become_pass")),
            flags=str(option("become_flags") or ""),
        )

    def _executor_failure(self, error: ExecutorError, advice: Mapping[str, str]) -> dict[str, Any]:
        # A failure in the apply round trip may follow pipelines that did change the host.
        changed = bool(error.result.get("changed", False))
        msg = str(error)
        if error.result.get("pipeline") in advice:
            msg = msg.rstrip(".") + ". " + advice[error.result["pipeline"]]
        if changed:
            msg = msg.rstrip(".") + (
                ". The host is changed up to that step and no further; once the cause is fixed, run the "
                "task again: it reads the host first and completes what is left"
            )
        failure: dict[str, Any] = {
            "failed": True,
            "changed": changed,
            "msg": msg,
            "round_trips": self._round_trips,
        }
        for key in ("pipeline", "step", "cmdlet", "error_id", "error_category"):
            if key in error.result:
                failure[key] = error.result[key]
        return failure

    def _masked(self, value: dict[str, Any]) -> dict[str, Any]:
        """``value`` with every no_log value replaced, wherever it appears."""
        if not self._secrets:
            return value
        masked: dict[str, Any] = remove_values(value, self._secrets)
        return masked

    def _carries_secret(self, wire: Any) -> bool:
        if isinstance(wire, str):
            return any(secret in wire for secret in self._secrets)
        if isinstance(wire, Mapping):
            return any(self._carries_secret(v) for v in wire.values())
        if isinstance(wire, list):
            return any(self._carries_secret(v) for v in wire)
        return False

    def _update_module_args(
        self, module_name: Any, module_args: Any, task_vars: Any, ignore_unknown_opts: bool = False
    ) -> None:
        super()._update_module_args(module_name, module_args, task_vars, ignore_unknown_opts)
        # A secret among the cmdlet parameters must not reach the host's event log nor the
        # executor's echo of its arguments.
        if self._secrets and self._carries_secret(module_args.get("pipelines")):
            module_args["_ansible_no_log"] = True

    def _run_pipelines(self, pipelines: list[Pipeline], task_vars: dict[str, Any] | None) -> Observed:
        """One remote round trip for all ``pipelines``."""
        if not pipelines:
            return Observed()
        try:
            check_round_trip(pipelines)
        except ValueError as error:
            raise AnsibleActionFail(str(error)) from None
        self._round_trips += 1
        response = self._execute_module(
            module_name=EXECUTOR,
            module_args={"pipelines": [p.to_wire() for p in pipelines]},
            task_vars=task_vars,
        )
        if response.get("failed"):
            raise ExecutorError(response)
        return observed_from(response)


def observed_from(response: Mapping[str, Any]) -> Observed:
    """The ``results`` of an executor response (a failed one holds those that ran) as ``Observed``."""
    results = response.get("results") or []
    return Observed(
        outputs={entry["name"]: entry["output"] for entry in results},
        warnings={entry["name"]: entry.get("warnings", []) for entry in results},
    )
