"""The node-local cmdlet simulator: ``run_pipelines`` runs the executor module's structured pipelines."""

from wsfclab.cmdlets.pipeline import run_pipelines

__all__ = ["run_pipelines"]
