"""Check planned pipelines against the cmdlet manifest, as the lab and Windows would bind them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ansible_collections.pbxops.wsfc.plugins.plugin_utils.cmdlet import Pipeline, Step
from wsfclab.manifest import CmdletCallError, load_manifest


def validate_step(cmdlet: str, parameters: dict[str, Any], *, piped: bool) -> None:
    """Bind one step as the lab does: a piped step whose sets differ only in the class of object
    they take from the pipeline is resolved by that class on the host, so that ambiguity passes."""
    try:
        load_manifest().validate(cmdlet, parameters, pipeline_input=piped)
    except CmdletCallError as error:
        if not (piped and "could be any of" in str(error)):
            raise


def assert_calls_bind(pipelines: Iterable[Pipeline]) -> None:
    """Every cmdlet step binds to a documented parameter set (raises CmdletCallError if not)."""
    for pipeline in pipelines:
        for index, step in enumerate(pipeline.steps):
            if isinstance(step, Step):
                wire = step.to_wire()
                validate_step(wire["cmdlet"], wire["parameters"], piped=index > 0)
