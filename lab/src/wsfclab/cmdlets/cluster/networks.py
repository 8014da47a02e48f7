"""Get-ClusterNetwork and Get-ClusterNetworkInterface.

A network's Name, Role, Description and Metric are set by assignment
(``(Get-ClusterNetwork "Cluster Network 1").Role = 1``), through ``settable``.
"""

from __future__ import annotations

from wsfclab.cluster.errors import ClusterError
from wsfclab.cmdlets.base import Call, CimObject, cmdlet
from wsfclab.cmdlets.cluster import common, render, settable


@cmdlet("Get-ClusterNetwork", inputs={render.CLUSTER: "InputObject"})
def get_cluster_network(call: Call) -> list[CimObject]:
    common.require_module(call)
    cdb = common.target_cluster(call)
    values = call.as_list("Name")
    picked = common.pick([str(v) for v in values] if values is not None else None, list(cdb.networks))
    if isinstance(picked, str):
        raise common.error(call, ClusterError("NETWORK_NOT_FOUND", f"(network '{picked}')", target=picked))
    return settable.attach(call.state, [render.network(cdb, cdb.networks[n]) for n in picked])


@cmdlet(
    "Get-ClusterNetworkInterface",
    inputs={render.CLUSTER: "InputObject", render.NETWORK: "InputObject", render.NODE: "InputObject"},
)
def get_cluster_network_interface(call: Call) -> list[CimObject]:
    common.require_module(call)
    cdb = common.target_cluster(call)
    interfaces = list(cdb.interfaces)
    if call.input is not None and call.input.class_name == render.NETWORK:
        interfaces = [i for i in interfaces if i.network == call.input.ref]
    if call.input is not None and call.input.class_name == render.NODE:
        interfaces = [i for i in interfaces if i.node == call.input.ref]
    for param, attr in (("Node", "node"), ("Network", "network"), ("Name", "name")):
        values = call.as_list(param)
        picked = common.pick(
            [str(v) for v in values] if values is not None else None, [getattr(i, attr) for i in interfaces]
        )
        if isinstance(picked, str):
            key = {"Node": "NODE_NOT_FOUND", "Network": "NETWORK_NOT_FOUND"}.get(
                param, "NETINTERFACE_NOT_FOUND"
            )
            raise common.error(call, ClusterError(key, f"({param.lower()} '{picked}')", target=picked))
        interfaces = [i for i in interfaces if getattr(i, attr) in picked]
    return [render.interface(cdb, i) for i in interfaces]
