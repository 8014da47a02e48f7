"""The FailoverClusters cmdlets: thin files that bind, call the cluster API and render its objects.

Importing the package registers every cmdlet (``wsfclab.cmdlets.pipeline`` imports it);
``settable.assign`` is the property assignment the executor's ``set_properties`` step uses for
the cluster's objects.
"""

from wsfclab.cmdlets.cluster import (
    cluster,
    groups,
    logs,
    networks,
    nodes,
    quorum,
    resources,
    storage,
    validation,
)

__all__ = ["cluster", "groups", "logs", "networks", "nodes", "quorum", "resources", "storage", "validation"]
