"""What every command group shares: the spec the command runs with (``kws --spec``)."""

from __future__ import annotations


def spec_of(args):
    """The spec named by ``kws --spec`` (default: the packaged one)."""
    from kws.spec import load_spec

    return load_spec(args.spec)


TASK_HELP = "the task: commands, wakeword, alexa or a task .toml (default %(default)s)"
WORKERS_HELP = (
    "parallel worker processes (default: the cores, at most 4; 1 runs in this process); with kws "
    "--cluster, the cluster's"
)
MODEL_HELP = "a released model directory (default %(default)s)"
