"""The node-local cmdlet simulator: ``run_pipelines`` runs the executor module's structured pipelines."""

from wsfclab.cmdlets.pipeline import run_pipelines

# The FailoverClusters cmdlets register themselves on import, like the modules pipeline imports.
from wsfclab.cmdlets import cluster  # noqa: F401  isort: skip

__all__ = ["run_pipelines"]
