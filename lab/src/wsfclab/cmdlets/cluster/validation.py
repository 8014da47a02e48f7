"""Test-Cluster: the validation tests of ``checks``, their verdict on the warning stream, the report.

As on Windows ([PS] Test-Cluster; transcripts in wsfc-behaviour.md 1.4): each test that found
something writes one warning line (``Network - Validate Network Communication: The test reported
some warnings..``), then one warning carries the verdict and the report's path; the output is the
report file (System.IO.FileInfo), written under ``C:\\Windows\\Cluster\\Reports\\`` on the node
that ran the cmdlet, so the cmdlet is a change. ``-List`` returns the tests instead (ClusterTestInfo),
runs nothing and writes nothing, so a read pipeline (one check mode runs) may call it.
Nodes that already belong to a cluster bring the whole cluster into the test.
"""

from __future__ import annotations

import html
import ntpath
import time
from datetime import UTC, datetime

from wsfclab.cmdlets.base import Call, CimObject, cmdlet
from wsfclab.cmdlets.cluster import checks, common, render
from wsfclab.cmdlets.cluster.render import CLUSTER
from wsfclab.errors import ErrorCategory, Unsupported
from wsfclab.state import NodeState

REPORTS = "C:\\Windows\\Cluster\\Reports"


@cmdlet("Test-Cluster", inputs={CLUSTER: "InputObject"}, changes=True, reads_with=("List",))
def test_cluster(call: Call) -> list[CimObject]:
    common.require_module(call)
    for unsupported in ("Disk", "Pool"):
        if call.has(unsupported):
            raise Unsupported(f"Test-Cluster -{unsupported} (the lab tests every potential cluster disk)")
    selected = checks.select_tests(call.as_list("Include"), call.as_list("Ignore"))
    if isinstance(selected, str):
        raise common.fail(
            call,
            f"The test or category '{selected}' was not found. Use Test-Cluster -List to see the "
            "available tests and categories.",
            "Test-Cluster",
            ErrorCategory.InvalidArgument,
            target=selected,
        )
    if call.get("List"):
        return [
            CimObject(
                render.TEST_INFO,
                {"Category": i.category, "DisplayName": i.display_name, "Description": i.description},
            )
            for i, _check in checks.TESTS
        ]
    nodes = _nodes_under_test(call)
    common.require_second_hop(call, [n.name for n in nodes])
    if call.get("WhatIf"):
        return []
    cdb = call.state.cluster
    in_use = frozenset(d.key for d in call.state.disks.values() if d.is_clustered)
    subject = checks.Subject(nodes, list(call.state.disks.values()), in_use)
    results = checks.run_tests(subject, selected)
    finished = time.time()
    path = _report_path(call, finished)
    verdict = checks.verdict(results)
    clustered = cdb is not None and any(cdb.node_by_name(n.name) for n in nodes)
    report = _report(nodes, results, verdict, finished, cdb.name if cdb is not None and clustered else None)
    local = call.lab.resolve_path(call.state, call.node.name, path)
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_text(report, encoding="utf-8")
    for result in results:
        line = checks.result_line(result)
        if line is not None:
            call.warn(line)
    call.warn(f"\nTest Result:\n{verdict.flags}\n{verdict.summary}\nTest report file path: {path}")
    return [render.file_info(path, local.stat().st_size, finished)]


def _nodes_under_test(call: Call) -> list[NodeState]:
    names = call.as_list("Node")
    if names is None:
        local = common.target_cluster(call)
        return [call.state.nodes[n] for n in common.hosts_of(local)]
    chosen: list[NodeState] = []
    for name in names:
        node = common.lab_node(call, str(name))
        if node is None or not node.running:
            raise common.fail(
                call,
                f"Failed to access remote registry on '{name}'. Ensure that the remote registry service is "
                "running, and have remote administration enabled.",
                "Test-Cluster",
                ErrorCategory.ConnectionError,
                target=str(name),
            )
        if node not in chosen:
            chosen.append(node)
    cdb = call.state.cluster
    if cdb is not None and any(cdb.node_by_name(n.name) for n in chosen):
        # "If either node is already a member of a cluster, the tests will include all nodes in that cluster."
        for member in sorted(cdb.nodes):
            node = call.state.nodes[member]
            if node not in chosen:
                chosen.append(node)
    return chosen


def _report_path(call: Call, finished: float) -> str:
    name = call.get("ReportName")
    if name is None:
        stamp = datetime.fromtimestamp(finished, UTC).strftime("%Y.%m.%d At %H.%M.%S")
        return ntpath.join(REPORTS, f"Validation Report {stamp}.htm")
    name = str(name)
    if not name.lower().endswith(".htm"):
        name += ".htm"  # as Windows does ([TP-16694579683]: -ReportName c:\cluster-test)
    return name if ntpath.isabs(name) else ntpath.join(REPORTS, name)


def _report(
    nodes: list[NodeState],
    results: list[checks.TestResult],
    verdict: checks.Verdict,
    finished: float,
    cluster_name: str | None,
) -> str:
    """The validation report: a summary by category, then each test's findings."""
    when = datetime.fromtimestamp(finished, UTC).strftime("%m/%d/%Y %H:%M:%S")
    rows = []
    for result in results:
        findings = (
            "".join(f"<li>{html.escape(f)}</li>" for f in result.findings) or "<li>No issues found.</li>"
        )
        rows.append(
            f"<tr><td>{html.escape(result.info.category)}</td><td>{html.escape(result.info.display_name)}</td>"
            f"<td>{result.status}</td><td><ul>{findings}</ul></td></tr>"
        )
    tested = ", ".join(html.escape(n.fqdn) for n in nodes)
    title = f"Failover Cluster Validation Report{' for ' + html.escape(cluster_name) if cluster_name else ''}"
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>'
        f"{title}</title></head><body>\n<h1>{title}</h1>\n"
        f"<p>Node(s) tested: {tested}</p>\n<p>Completed: {when} UTC</p>\n"
        f"<h2>Results by Category</h2>\n<p>{html.escape(verdict.flags)}</p>"
        f"<p>{html.escape(verdict.summary)}</p>\n"
        '<table border="1"><tr><th>Category</th><th>Test</th><th>Result</th><th>Findings</th></tr>\n'
        + "\n".join(rows)
        + "\n</table>\n</body></html>\n"
    )
