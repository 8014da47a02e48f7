"""The validation tests of Test-Cluster, as pure functions of the nodes' state and the disks.

Each test has Windows' category and display name (as ``Test-Cluster -List`` prints them) and
looks only at what the lab models: NICs and subnets, OS version and edition, domain membership,
the Failover Clustering feature, and which disks each node sees. A test reports ``Success``,
``Warning`` or ``Failed`` with its findings; tests about things the lab does not model (drivers,
updates, firewall rules) report ``Success`` with a note in the report, and the lab guide lists
them.

The findings' wording follows the validation report where it is known (``Validate Network
Communication``'s single-path warning); the others are the lab's plain statements of the same
fact, and the lab guide says so.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from wsfclab.state import DiskState, NodeState

SUCCESS, WARNING, FAILED = "Success", "Warning", "Failed"

# The kinds of disk that can be cluster disks: shared buses, as the storage tests require
# (SAS, iSCSI, Fibre Channel, Storage Spaces); never the node's own system or local disks.
SHARED_KINDS = ("iscsi", "sas", "space")


@dataclass(frozen=True)
class TestInfo:
    category: str
    display_name: str
    description: str


@dataclass
class TestResult:
    info: TestInfo
    status: str = SUCCESS
    findings: list[str] = field(default_factory=list)

    def warn(self, text: str) -> None:
        if self.status == SUCCESS:
            self.status = WARNING
        self.findings.append(text)

    def fail(self, text: str) -> None:
        self.status = FAILED
        self.findings.append(text)


@dataclass(frozen=True)
class Subject:
    """What the tests look at: the nodes under test and every disk of the lab."""

    nodes: Sequence[NodeState]
    disks: Sequence[DiskState]
    in_use: frozenset[str] = frozenset()  # keys of disks that a clustered role uses (not tested)


Check = Callable[[Subject, TestResult], None]


def _subnets(node: NodeState) -> set[ipaddress.IPv4Network]:
    return {
        ipaddress.IPv4Network(f"{a.ip}/{a.prefix_length}", strict=False)
        for nic in node.nics
        if nic.status == "Up"
        for a in nic.addresses
        if ":" not in a.ip
    }


def _inventory(subject: Subject, result: TestResult) -> None:
    """Inventory tests list what they find; the report shows it, nothing can fail."""


def _network_communication(subject: Subject, result: TestResult) -> None:
    nodes = list(subject.nodes)
    for i, first in enumerate(nodes):
        for second in nodes[i + 1 :]:
            shared = _subnets(first) & _subnets(second)
            if not shared:
                result.fail(
                    f"Node {second.fqdn} is not reachable from node {first.fqdn}: they have no network "
                    "interfaces on a common subnet."
                )
            elif len(shared) == 1:
                result.warn(
                    f"Node {first.fqdn} is reachable from Node {second.fqdn} by only one pair of network "
                    "interfaces. It is possible that this network path is a single point of failure for "
                    "communication within the cluster. Please verify that this single path is highly "
                    "available, or consider adding additional networks to the cluster."
                )


def _ip_configuration(subject: Subject, result: TestResult) -> None:
    for node in subject.nodes:
        active = [nic for nic in node.nics if nic.status == "Up" and nic.addresses]
        if not active:
            result.fail(f"Node {node.fqdn} has no network adapter that is connected and has an IPv4 address.")
        elif len(active) == 1:
            result.warn(
                f"Node {node.fqdn} has only one network adapter ('{active[0].name}') that is connected. "
                "A single adapter is a single point of failure for the node's cluster communication."
            )
        for nic in node.nics:
            if nic.status != "Up":
                result.warn(f"Network adapter '{nic.name}' on node {node.fqdn} is {nic.status.lower()}.")


def _cluster_network_configuration(subject: Subject, result: TestResult) -> None:
    if len(subject.nodes) > 1 and len(set.union(*(_subnets(n) for n in subject.nodes))) == 1:
        result.warn(
            "All network adapters of the nodes are on one subnet, so the cluster will have a single "
            "cluster network. Cluster communication and client access then share one path."
        )


def _potential_disks(subject: Subject, result: TestResult) -> None:
    names = {n.name for n in subject.nodes}
    candidates = 0
    for disk in subject.disks:
        if disk.kind not in SHARED_KINDS or disk.key in subject.in_use:
            continue
        seen_by = set(disk.views) & names
        if not seen_by:
            continue
        if seen_by != names:
            missing = ", ".join(sorted(names - seen_by))
            result.warn(
                f"Disk with identifier {disk.unique_id} ('{disk.friendly_name}') is not visible from "
                f"node(s) {missing}. It is visible from {', '.join(sorted(seen_by))} only, so it cannot "
                "be a cluster disk."
            )
            continue
        candidates += 1
    if candidates == 0:
        result.warn(
            "No disks were found on which to perform cluster validation tests. To correct this, make "
            "sure every node sees the same shared disks (log in to the iSCSI targets, or connect the "
            "SAS enclosure, on every node) and that they are not in use by a clustered role."
        )


def _disk_tests(subject: Subject, result: TestResult) -> None:
    """The arbitration and failover tests run on the potential cluster disks (the lab's disks always
    support SCSI-3 persistent reservations); with no such disk there is nothing to test."""


def _active_directory(subject: Subject, result: TestResult) -> None:
    joined = [n for n in subject.nodes if n.part_of_domain]
    outside = [n for n in subject.nodes if not n.part_of_domain]
    if joined and outside:
        for node in outside:
            result.fail(
                f"Node {node.name} is not joined to a domain (it is in workgroup {node.domain}), while "
                f"{', '.join(n.name for n in joined)} are members of {joined[0].domain}. All nodes must "
                "be members of the same domain."
            )
    domains = {n.domain.lower() for n in joined}
    if len(domains) > 1:
        result.fail(f"The nodes are members of different domains: {', '.join(sorted(domains))}.")
    if not joined and len(subject.nodes) > 0:
        result.warn(
            "The nodes are not joined to a domain. A workgroup cluster can only have an administrative "
            "access point of type DNS."
        )


def _os_version(subject: Subject, result: TestResult) -> None:
    versions = {n.os.version for n in subject.nodes}
    if len(versions) > 1:
        listing = "; ".join(f"{n.name}: {n.os.caption} {n.os.version}" for n in subject.nodes)
        result.fail(f"The nodes do not all run the same operating system version ({listing}).")


def _os_edition(subject: Subject, result: TestResult) -> None:
    for node in subject.nodes:
        if node.os.product_type != 3:
            result.fail(
                f"Node {node.name} runs {node.os.caption}, which does not support failover clustering."
            )
    editions = {n.os.edition for n in subject.nodes}
    if len(editions) > 1:
        listing = "; ".join(f"{n.name}: {n.os.edition}" for n in subject.nodes)
        result.warn(f"The nodes run different editions of the operating system ({listing}).")


def _architecture(subject: Subject, result: TestResult) -> None:
    if len({n.os.os_architecture for n in subject.nodes}) > 1:
        listing = "; ".join(f"{n.name}: {n.os.os_architecture}" for n in subject.nodes)
        result.fail(f"The nodes do not all have the same processor architecture ({listing}).")


def _cluster_service(subject: Subject, result: TestResult) -> None:
    for node in subject.nodes:
        feature = node.features.get("Failover-Clustering")
        if feature is None or not feature.installed:
            result.fail(
                f"The Failover Clustering feature is not installed on node {node.fqdn}. Install it with "
                "Install-WindowsFeature -Name Failover-Clustering -IncludeManagementTools."
            )


def _t(category: str, name: str, description: str, check: Check) -> tuple[TestInfo, Check]:
    return TestInfo(category, name, description), check


# Test-Cluster -List, for the tests the lab runs. Storage Spaces Direct and Hyper-V Configuration
# tests are not selected by default on Windows either, which is why the verdict says
# HadUnselectedTests.
TESTS: tuple[tuple[TestInfo, Check], ...] = (
    _t("Inventory", "List BIOS Information", "List the BIOS information from each node.", _inventory),
    _t("Inventory", "List Memory Information", "List the memory information for each node.", _inventory),
    _t(
        "Inventory",
        "List Operating System Information",
        "List the operating system information from each node.",
        _inventory,
    ),
    _t("Inventory", "List Services Information", "List the services installed on each node.", _inventory),
    _t("Inventory", "List System Information", "List system information such as computer name.", _inventory),
    _t(
        "Network",
        "Validate Cluster Network Configuration",
        "Validate the cluster networks that would be created for these servers.",
        _cluster_network_configuration,
    ),
    _t(
        "Network",
        "Validate IP Configuration",
        "Validate that IP addresses are unique and subnets configured correctly.",
        _ip_configuration,
    ),
    _t(
        "Network",
        "Validate Network Communication",
        "Validate that servers can communicate, with acceptable latency, on all networks.",
        _network_communication,
    ),
    _t(
        "Storage",
        "List Potential Cluster Disks",
        "List disks that will be validated for cluster compatibility.",
        _potential_disks,
    ),
    _t(
        "Storage",
        "Validate Disk Arbitration",
        "Validate that a node that owns a disk retains ownership.",
        _disk_tests,
    ),
    _t(
        "Storage",
        "Validate Disk Failover",
        "Validate that a disk can fail over successfully with data intact.",
        _disk_tests,
    ),
    _t(
        "Storage",
        "Validate SCSI-3 Persistent Reservation",
        "Validate that storage supports the SCSI-3 Persistent Reservation commands.",
        _disk_tests,
    ),
    _t(
        "System Configuration",
        "Validate Active Directory Configuration",
        "Validate that all the nodes have the same domain, domain role, and organizational unit.",
        _active_directory,
    ),
    _t(
        "System Configuration",
        "Validate Cluster Service and Driver Settings",
        "Validate startup settings used by services and drivers, including the cluster service.",
        _cluster_service,
    ),
    _t(
        "System Configuration",
        "Validate Operating System Edition",
        "Validate that all tested servers run an edition of the operating system that supports failover "
        "clustering.",
        _os_edition,
    ),
    _t(
        "System Configuration",
        "Validate Operating System Version",
        "Validate that the tested servers run the same operating system version.",
        _os_version,
    ),
    _t(
        "System Configuration",
        "Validate Same Processor Architecture",
        "Validate that all tested servers have the same architecture.",
        _architecture,
    ),
)

CATEGORIES = tuple(dict.fromkeys(info.category for info, _check in TESTS))


def select_tests(include: Sequence[str] | None, ignore: Sequence[str] | None) -> list[TestInfo] | str:
    """The tests ``-Include``/``-Ignore`` pick (categories or test names, any case), or the unknown name."""
    known = {info.category.lower() for info, _ in TESTS} | {info.display_name.lower() for info, _ in TESTS}
    for name in [*(include or []), *(ignore or [])]:
        if name.lower() not in known:
            return name

    def named(info: TestInfo, names: Sequence[str]) -> bool:
        wanted = {n.lower() for n in names}
        return info.category.lower() in wanted or info.display_name.lower() in wanted

    chosen = [info for info, _ in TESTS if include is None or named(info, include)]
    return [info for info in chosen if ignore is None or not named(info, ignore)]


def run_tests(subject: Subject, selected: Sequence[TestInfo]) -> list[TestResult]:
    results = []
    for info, check in TESTS:
        if info in selected:
            result = TestResult(info)
            check(subject, result)
            results.append(result)
    return results


@dataclass(frozen=True)
class Verdict:
    flags: str  # "HadUnselectedTests, ClusterConditionallyApproved"
    summary: str


def verdict(results: Sequence[TestResult]) -> Verdict:
    """The "Test Result:" flags and sentence Test-Cluster writes at the end.

    The lab never runs every Windows test (Storage Spaces Direct, Hyper-V and the driver tests are
    not simulated), so ``HadUnselectedTests`` is always set, as on a default Windows run.
    """
    statuses = {r.status for r in results}
    supported = (
        "A cluster solution is supported by Microsoft only if you run all cluster validation tests, "
        "and all tests succeed (with or without warnings)."
    )
    if FAILED in statuses:
        return Verdict(
            "HadUnselectedTests, ClusterNotApproved",
            "Testing has completed for the tests you selected. The tests found failures that must be "
            "corrected before a cluster can be created; review the failures in the Report.  " + supported,
        )
    if WARNING in statuses:
        return Verdict(
            "HadUnselectedTests, ClusterConditionallyApproved",
            "Testing has completed for the tests you selected. You should review the warnings in the "
            "Report.  " + supported,
        )
    return Verdict(
        "HadUnselectedTests, ClusterApproved",
        "Testing has completed for the tests you selected. To confirm that your cluster solution is "
        "supported, you must run all tests.  " + supported,
    )


def result_line(result: TestResult) -> str | None:
    """The warning-stream line of one test: Windows' literal double period included."""
    if result.status == WARNING:
        return f"{result.info.category} - {result.info.display_name}: The test reported some warnings.."
    if result.status == FAILED:
        return f"{result.info.category} - {result.info.display_name}: The test failed.."
    return None
