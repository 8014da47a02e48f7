# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Generic Service role: the service, its addresses, storage, checkpoints, owners and policies.

``Add-ClusterGenericServiceRole`` creates the group (GroupType GenericService), a Network Name
resource called after the role, an IP Address resource per static address, moves the disks into
the group and creates the Generic Service resource, named by Windows (after the service's display
name, wsfc-behaviour 4.1). Every other setting is planned against the role as it then exists, so a
new role takes two passes (the action reads again after creating it), and a setting changed on an
existing role changes only that setting:

- ``ServiceName``, ``StartupParameters`` and ``UseNetworkName`` are private properties of the
  service resource (``Set-ClusterParameter``);
- the service's dependencies are one expression, ``[a] and [b]`` (``Set-ClusterResourceDependency``
  overwrites it);
- preferred owners belong to the group, possible owners to each resource (``Set-ClusterOwnerNode``);
- failover policy is a group's common properties and restart policy a resource's, set by assignment.

The whole role is read in one round trip, each pipeline starting from
``Get-ClusterGroup | Where-Object Name -EQ <role>``, which returns nothing (rather than failing)
while the role does not exist.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ansible_collections.pbxops.wsfc.plugins.plugin_utils.cmdlet import (
    SWITCH,
    ParameterValue,
    Pipeline,
    PropertyValue,
    SetProperties,
    Step,
    change,
    read,
)
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.planning import Observed, Plan
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.wsfc_common import (
    ArgumentError,
    PlanError,
    check_ipv4_address,
    check_netbios_name,
    check_positive,
    find_named,
    listing,
    name_of,
    names,
    owner_names,
    parameters_by_object,
    resource_type,
    same_name,
)

GROUP_PROPERTIES = (
    "Name",
    "OwnerNode",
    "State",
    "GroupType",
    "FailoverThreshold",
    "FailoverPeriod",
    "AutoFailbackType",
)
RESOURCE_PROPERTIES = (
    "Name",
    "State",
    "OwnerGroup",
    "OwnerNode",
    "ResourceType",
    "RestartAction",
    "RestartThreshold",
    "RestartPeriod",
    "RestartDelay",
    "RetryPeriodOnFailure",
    "PendingTimeout",
)
# option -> common property of the group
GROUP_POLICY = {"failover_threshold": "FailoverThreshold", "failover_period": "FailoverPeriod"}
# option -> common property of the service resource
RESOURCE_POLICY = {
    "restart_threshold": "RestartThreshold",
    "restart_period": "RestartPeriod",
    "restart_delay": "RestartDelay",
    "retry_period_on_failure": "RetryPeriodOnFailure",
    "pending_timeout": "PendingTimeout",
}
RESTART_ACTIONS = {"no_restart": 0, "restart": 1, "restart_then_failover": 2}
# The executor renders enums by name: RestartAction as DoNotRestart, RestartNoNotify or
# RestartNotify (older hosts prefix them with ClusterResource), AutoFailbackType likewise.
_ENUM_NUMBERS = {
    "donotrestart": 0,
    "restartnonotify": 1,
    "restartnotify": 2,
    "clusterresourcedontrestart": 0,
    "clusterresourcerestartnonotify": 1,
    "clusterresourcerestartnotify": 2,
    "clustergrouppreventfailback": 0,
    "clustergroupallowfailback": 1,
}
_BRACKETED = re.compile(r"\[([^\]]*)\]")
_AND_ONLY = re.compile(r"^\s*(\[[^\]]*\]\s*(and\s*\[[^\]]*\]\s*)*)?$", re.IGNORECASE)


def _cluster(args: Mapping[str, Any]) -> dict[str, ParameterValue]:
    return {"Cluster": args["cluster"]} if args.get("cluster") else {}


def _role(args: Mapping[str, Any]) -> tuple[Step, Step]:
    return (
        Step("Get-ClusterGroup", _cluster(args)),
        Step("Where-Object", {"Property": "Name", "EQ": SWITCH, "Value": args["name"]}),
    )


def reads(args: Mapping[str, Any]) -> list[Pipeline]:
    check_netbios_name("name", args["name"])
    if args["state"] == "present" and not args.get("service_name"):
        raise ArgumentError("service_name", "state is present, so name the Windows service the role runs")
    for address in args.get("static_address") or []:
        check_ipv4_address("static_address", address)
    for option in ("preferred_owners", "possible_owners"):
        for node in args.get(option) or []:
            check_netbios_name(option, node)
    for dependency in args.get("dependencies") or []:
        if not dependency.strip() or "[" in dependency or "]" in dependency:
            raise ArgumentError(
                "dependencies", f"{dependency!r} is not a resource name (brackets are added for you)"
            )
    for key in args.get("checkpoint_keys") or []:
        if key.upper().startswith(("HKLM", "HKEY_")):
            raise ArgumentError(
                "checkpoint_keys",
                f"{key!r}: give the key relative to HKEY_LOCAL_MACHINE, such as SOFTWARE\\pbxd",
            )
    for option in (*GROUP_POLICY, *RESOURCE_POLICY, "wait"):
        check_positive(option, args.get(option), allow_zero=True)
    role = _role(args)
    resources = (*role, Step("Get-ClusterResource"))
    return [
        read("group", *role, select=GROUP_PROPERTIES),
        read("resources", *resources, select=RESOURCE_PROPERTIES),
        read(
            "parameters",
            *resources,
            Step("Get-ClusterParameter"),
            depth=1,
        ),
        read(
            "dependencies",
            *resources,
            Step("Get-ClusterResourceDependency"),
            select=("Resource", "DependencyExpression"),
            depth=1,
        ),
        read(
            "checkpoints",
            *resources,
            Step("Get-ClusterCheckpoint", {"RegistryCheckpoint": SWITCH}),
            select=("Resource", "Name"),
            depth=1,
        ),
        read("preferred owners", *role, Step("Get-ClusterOwnerNode"), select=("ClusterObject", "OwnerNodes")),
        read(
            "possible owners",
            *resources,
            Step("Get-ClusterOwnerNode"),
            select=("ClusterObject", "OwnerNodes"),
        ),
        read(
            "cluster resources",
            Step("Get-ClusterResource", _cluster(args)),
            select=("Name", "ResourceType", "OwnerGroup"),
        ),
        read("nodes", Step("Get-ClusterNode", _cluster(args)), select=("Name", "State")),
    ]


def _number(value: Any) -> Any:
    if isinstance(value, str):
        if value.isdigit():
            return int(value)
        return _ENUM_NUMBERS.get(value.casefold(), value)
    return value


def dependency_names(expression: str) -> list[str] | None:
    """The resources of an expression that only joins them with ``and``; None for anything else."""
    if not _AND_ONLY.match(expression or ""):
        return None
    return _BRACKETED.findall(expression or "")


def _of_type(resources: Sequence[Mapping[str, Any]], kind: str) -> list[Mapping[str, Any]]:
    return [r for r in resources if resource_type(r).casefold() == kind]


def service_resource(args: Mapping[str, Any], observed: Observed) -> Mapping[str, Any] | None:
    services = _of_type(observed.get("resources"), "generic service")
    parameters = parameters_by_object(observed.get("parameters"))
    for resource in services:
        if same_name(
            str(parameters.get(name_of(resource).casefold(), {}).get("ServiceName", "")),
            args.get("service_name") or "",
        ):
            return resource
    return services[0] if len(services) == 1 else None


def role_state(args: Mapping[str, Any], observed: Observed) -> dict[str, Any]:
    groups = observed.get("group")
    if not groups:
        return {"exists": False}
    group = groups[0]
    resources = observed.get("resources")
    parameters = parameters_by_object(observed.get("parameters"))
    service = service_resource(args, observed)
    service_key = name_of(service).casefold() if service else ""
    private = parameters.get(service_key, {})
    dependencies = {
        name_of(d.get("Resource")).casefold(): str(d.get("DependencyExpression") or "")
        for d in observed.get("dependencies")
    }
    expression = dependencies.get(service_key, "")
    checkpoints = [
        str(c.get("Name"))
        for c in observed.get("checkpoints")
        if name_of(c.get("Resource")).casefold() == service_key
    ]
    possible = owner_names(observed.get("possible owners"))
    use_network_name = private.get("UseNetworkName")
    state: dict[str, Any] = {
        "exists": True,
        "name": name_of(group),
        "owner_node": name_of(group.get("OwnerNode")),
        "state": group.get("State"),
        "group_type": group.get("GroupType"),
        "service_resource": name_of(service) if service else None,
        "service_name": private.get("ServiceName"),
        "startup_parameters": private.get("StartupParameters"),
        "use_network_name": None if use_network_name is None else bool(_number(use_network_name)),
        "static_address": sorted(
            str(parameters.get(name_of(r).casefold(), {}).get("Address"))
            for r in _of_type(resources, "ip address")
        ),
        "storage": sorted(name_of(r) for r in _of_type(resources, "physical disk")),
        "checkpoint_keys": sorted(checkpoints, key=str.casefold),
        "dependencies": dependency_names(expression)
        if dependency_names(expression) is not None
        else expression,
        "preferred_owners": owner_names(observed.get("preferred owners")).get(name_of(group).casefold(), []),
        "possible_owners": possible.get(service_key, []),
        "failover_threshold": group.get("FailoverThreshold"),
        "failover_period": group.get("FailoverPeriod"),
        "auto_failback": _number(group.get("AutoFailbackType")) == 1,
        "restart_action": next(
            (k for k, v in RESTART_ACTIONS.items() if v == _number((service or {}).get("RestartAction"))),
            None,
        ),
    }
    for option, prop in RESOURCE_POLICY.items():
        state[option] = (service or {}).get(prop)
    return state


def _same_list(a: Sequence[str], b: Sequence[str], *, ordered: bool) -> bool:
    left, right = [x.casefold() for x in a], [x.casefold() for x in b]
    return left == right if ordered else sorted(left) == sorted(right)


def _check_nodes(option: str, wanted: Sequence[str], observed: Observed) -> list[str]:
    nodes = observed.get("nodes")
    result = []
    for node in wanted:
        found = find_named(nodes, node)
        if found is None:
            raise PlanError(
                f"{option}: {node!r} is not a node of the cluster; its nodes are {listing(names(nodes))}"
            )
        result.append(name_of(found))
    return result


def _check_storage(args: Mapping[str, Any], observed: Observed) -> None:
    disks = _of_type(observed.get("cluster resources"), "physical disk")
    for disk in args.get("storage") or []:
        found = find_named(disks, disk)
        if found is None:
            raise PlanError(
                f"storage: the cluster has no disk called {disk!r}; its disks are {listing(names(disks))}. "
                "Add it with pbxops.wsfc.cluster_disk first"
            )
        group = name_of(found.get("OwnerGroup"))
        if not same_name(group, "Available Storage") and not same_name(group, args["name"]):
            raise PlanError(f"storage: disk {disk!r} belongs to the role {group!r}; a disk serves one role")


def _create(args: Mapping[str, Any], observed: Observed) -> Plan:
    _check_storage(args, observed)
    for option in ("preferred_owners", "possible_owners"):
        _check_nodes(option, args.get(option) or [], observed)
    parameters: dict[str, ParameterValue] = {
        "ServiceName": args["service_name"],
        "Name": args["name"],
        **_cluster(args),
    }
    for option, parameter in (
        ("static_address", "StaticAddress"),
        ("storage", "Storage"),
        ("checkpoint_keys", "CheckpointKey"),
    ):
        if args.get(option):
            parameters[parameter] = tuple(args[option])
    if args.get("wait") is not None:
        parameters["Wait"] = args["wait"]
    after: dict[str, Any] = {"exists": True, "name": args["name"], "service_name": args["service_name"]}
    for option in (
        "static_address",
        "storage",
        "checkpoint_keys",
        "startup_parameters",
        "use_network_name",
        "dependencies",
        "preferred_owners",
        "possible_owners",
        "auto_failback",
        "restart_action",
        *GROUP_POLICY,
        *RESOURCE_POLICY,
    ):
        if args.get(option) is not None:
            after[option] = args[option]
    return Plan(
        changes=(
            change("create role", Step("Add-ClusterGenericServiceRole", parameters), select=GROUP_PROPERTIES),
        ),
        before={"exists": False},
        after=after,
    )


def _set_parameter(resource: str, name: str, value: str | int) -> Pipeline:
    return change(
        f"{resource} {name}",
        Step("Get-ClusterResource", {"Name": (resource,)}),
        Step("Set-ClusterParameter", {"Name": name, "Value": value}),
    )


def plan(args: Mapping[str, Any], observed: Observed) -> Plan:
    before = role_state(args, observed)
    if args["state"] == "absent":
        if not before["exists"]:
            return Plan(changes=(), before=before, after=before)
        remove = Step(
            "Remove-ClusterGroup",
            {"Name": (before["name"],), "RemoveResources": SWITCH, "Force": SWITCH, **_cluster(args)},
        )
        return Plan(changes=(change("remove role", remove),), before=before, after={"exists": False})
    if not before["exists"]:
        return _create(args, observed)

    role = str(before["name"])
    if str(before.get("group_type")) not in ("GenericService", "108"):
        raise PlanError(
            f"name: the cluster already has a role called {role!r} of type {before.get('group_type')}, "
            "not a Generic Service role; choose another name or remove that role first"
        )
    service = before["service_resource"]
    if service is None:
        raise PlanError(
            f"name: role {role!r} has no Generic Service resource for {args['service_name']!r}; "
            "remove the role (state: absent) and run the task again to create it"
        )
    changes: list[Pipeline] = []
    after = dict(before)

    def assign(option: str, value: Any) -> None:
        after[option] = value

    if not same_name(str(before["service_name"] or ""), args["service_name"]):
        changes.append(_set_parameter(service, "ServiceName", args["service_name"]))
        assign("service_name", args["service_name"])
    if (
        args.get("startup_parameters") is not None
        and before["startup_parameters"] != args["startup_parameters"]
    ):
        changes.append(_set_parameter(service, "StartupParameters", args["startup_parameters"]))
        assign("startup_parameters", args["startup_parameters"])
    if args.get("use_network_name") is not None and before["use_network_name"] != args["use_network_name"]:
        changes.append(_set_parameter(service, "UseNetworkName", int(args["use_network_name"])))
        assign("use_network_name", args["use_network_name"])

    if args.get("static_address") is not None:
        changes.extend(_address_changes(args, observed, before))
        assign("static_address", sorted(args["static_address"]))

    if args.get("storage"):
        _check_storage(args, observed)
        missing = [d for d in args["storage"] if not any(same_name(d, s) for s in before["storage"])]
        if missing:
            raise PlanError(
                f"storage: role {role!r} does not hold {listing(missing)} and a disk cannot be moved into an "
                "existing role with the cmdlets this module uses; add it to the role in Failover Cluster "
                "Manager, or remove the role (state: absent) and create it again"
            )

    if args.get("checkpoint_keys") is not None:
        have = {k.casefold(): k for k in before["checkpoint_keys"]}
        want = {k.casefold(): k for k in args["checkpoint_keys"]}
        for key in sorted(set(want) - set(have)):
            changes.append(
                change(
                    f"add checkpoint {want[key]}",
                    Step(
                        "Add-ClusterCheckpoint",
                        {"ResourceName": service, "RegistryCheckpoint": want[key], **_cluster(args)},
                    ),
                )
            )
        for key in sorted(set(have) - set(want)):
            changes.append(
                change(
                    f"remove checkpoint {have[key]}",
                    Step(
                        "Remove-ClusterCheckpoint",
                        {
                            "ResourceName": service,
                            "CheckpointName": have[key],
                            "RegistryCheckpoint": SWITCH,
                            "Force": SWITCH,
                            **_cluster(args),
                        },
                    ),
                )
            )
        assign("checkpoint_keys", sorted(args["checkpoint_keys"], key=str.casefold))

    if args.get("dependencies") is not None:
        resources = observed.get("resources")
        wanted = []
        for dependency in args["dependencies"]:
            found = find_named(resources, dependency)
            if found is None or same_name(name_of(found), service):
                raise PlanError(
                    f"dependencies: {dependency!r} is not another resource of role {role!r}; its "
                    f"resources are {listing(names(resources))}"
                )
            wanted.append(name_of(found))
        current = before["dependencies"]
        if not isinstance(current, list) or not _same_list(current, wanted, ordered=False):
            expression = " and ".join(f"[{n}]" for n in wanted)
            changes.append(
                change(
                    f"{service} dependencies",
                    Step(
                        "Set-ClusterResourceDependency",
                        {"Resource": service, "Dependency": expression, **_cluster(args)},
                    ),
                )
            )
            assign("dependencies", wanted)

    if args.get("preferred_owners") is not None:
        wanted = _check_nodes("preferred_owners", args["preferred_owners"], observed)
        if not _same_list(before["preferred_owners"], wanted, ordered=True):
            changes.append(
                change(
                    f"{role} preferred owners",
                    Step("Set-ClusterOwnerNode", {"Group": role, "Owners": tuple(wanted), **_cluster(args)}),
                )
            )
            assign("preferred_owners", wanted)

    if args.get("possible_owners") is not None:
        wanted = _check_nodes("possible_owners", args["possible_owners"], observed)
        possible = owner_names(observed.get("possible owners"))
        for resource in names(observed.get("resources")):
            if not _same_list(possible.get(resource.casefold(), []), wanted, ordered=False):
                changes.append(
                    change(
                        f"{resource} possible owners",
                        Step(
                            "Set-ClusterOwnerNode",
                            {"Resource": resource, "Owners": tuple(wanted), **_cluster(args)},
                        ),
                    )
                )
        if not _same_list(before["possible_owners"], wanted, ordered=False):
            assign("possible_owners", wanted)

    group_values: dict[str, PropertyValue] = {
        prop: args[option]
        for option, prop in GROUP_POLICY.items()
        if args.get(option) is not None and before[option] != args[option]
    }
    if args.get("auto_failback") is not None and before["auto_failback"] != args["auto_failback"]:
        group_values["AutoFailbackType"] = int(args["auto_failback"])
    if group_values:
        changes.append(
            change(
                f"{role} failover policy", *_role(args), SetProperties(group_values), select=GROUP_PROPERTIES
            )
        )
        after.update({o: args[o] for o in (*GROUP_POLICY, "auto_failback") if args.get(o) is not None})

    resource_values: dict[str, PropertyValue] = {
        prop: args[option]
        for option, prop in RESOURCE_POLICY.items()
        if args.get(option) is not None and before[option] != args[option]
    }
    if args.get("restart_action") is not None and before["restart_action"] != args["restart_action"]:
        resource_values["RestartAction"] = RESTART_ACTIONS[args["restart_action"]]
    if resource_values:
        changes.append(
            change(
                f"{service} restart policy",
                Step("Get-ClusterResource", {"Name": (service,), **_cluster(args)}),
                SetProperties(resource_values),
                select=RESOURCE_PROPERTIES,
            )
        )
        after.update({o: args[o] for o in (*RESOURCE_POLICY, "restart_action") if args.get(o) is not None})

    if not changes:
        return Plan(changes=(), before=before, after=before)
    return Plan(changes=tuple(changes), before=before, after=after, reported=_reported(role, service, after))


def _reported(role: str, service: str, predicted: Mapping[str, Any]) -> Any:
    """The state after the settings pass: the policies as the assignments returned the objects.

    The other cmdlets (Set-ClusterParameter, Set-ClusterOwnerNode, ...) return nothing; for their
    settings the state is what was set."""

    def reported(applied: Observed) -> dict[str, Any]:
        state = dict(predicted)
        for group in applied.get(f"{role} failover policy"):
            state.update(
                failover_threshold=group.get("FailoverThreshold"),
                failover_period=group.get("FailoverPeriod"),
                auto_failback=_number(group.get("AutoFailbackType")) == 1,
            )
        for resource in applied.get(f"{service} restart policy"):
            action = _number(resource.get("RestartAction"))
            state["restart_action"] = next((k for k, v in RESTART_ACTIONS.items() if v == action), None)
            for option, prop in RESOURCE_POLICY.items():
                state[option] = resource.get(prop)
        return state

    return reported


def _address_changes(
    args: Mapping[str, Any], observed: Observed, before: Mapping[str, Any]
) -> list[Pipeline]:
    """An address is changed in place on its IP Address resource; adding or removing one is refused."""
    parameters = parameters_by_object(observed.get("parameters"))
    by_address = {
        str(parameters.get(name_of(r).casefold(), {}).get("Address")): name_of(r)
        for r in _of_type(observed.get("resources"), "ip address")
    }
    wanted = list(args["static_address"])
    stale = sorted(a for a in by_address if a not in wanted)
    new = sorted(a for a in wanted if a not in by_address)
    if len(stale) != len(new):
        raise PlanError(
            f"static_address: role {args['name']!r} has {len(by_address)} address(es) "
            f"({listing(sorted(by_address))}) and {len(wanted)} are wanted; this module changes an address "
            "in place but does not add or remove IP Address resources. Remove the role (state: absent) "
            "and create it again with the new addresses"
        )
    return [
        _set_parameter(by_address[old], "Address", address) for old, address in zip(stale, new, strict=True)
    ]


def follow_up(plan: Plan) -> bool:
    """A role was just created: its remaining settings are planned from a new read."""
    return bool(plan.changes) and plan.before.get("exists") is False and plan.changes[0].name == "create role"
