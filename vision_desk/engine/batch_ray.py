"""A batch's work items as tasks on a Ray cluster (``vision-desk batch --ray auto|ADDRESS``).

Ray schedules, places and retries; nothing here is a scheduler. Each work item
(a file, or a segment of a long one) is one task that runs the same
:func:`~vision_desk.engine.batch.process_item` as a one-process batch. A Ray
worker process keeps the pipeline it built, so its models load once however
many tasks it runs. Outputs are written under temporary names and renamed, so a
task that Ray retries after its worker or node died writes each output exactly
once. Progress goes to a small actor the driver reads ten times a second.

Every node must see the inputs, the output folder and the model files at the
same paths (a shared file system), as with any Ray batch job; the pipeline
itself travels with each task, and the ``VISION_DESK_*`` settings with the job.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import threading
from typing import Any, Callable

from vision_desk.engine.batch import (BatchItem, BatchProgress, ItemStatus, process_item, report_progress,
                                      wants_gpu)
from vision_desk.engine.pipeline import Pipeline, PipelineSpec, spec_from_dict
from vision_desk.errors import VisionDeskError

#: How often Ray retries a task whose worker process or node died (an error the pipeline reports is not retried).
RETRIES = 3

# One Ray worker process's pipeline, by the pipeline's JSON, kept between tasks so models load once.
_pipelines: dict[str, Pipeline] = {}


def _pipeline_for(spec: dict, stage_errors: str = "raise") -> Pipeline:
    key = json.dumps([spec, stage_errors], sort_keys=True)
    if key not in _pipelines:
        for old in _pipelines.values():
            old.close()
        _pipelines.clear()
        _pipelines[key] = Pipeline(spec_from_dict(spec), stage_errors=stage_errors)
    return _pipelines[key]


def _run_item(spec: dict, item: BatchItem, video: bool, annotated: bool, index: int, progress: Any,
              stage_errors: str = "raise") -> BatchItem:
    """The task body: one work item to complete outputs, on whichever node Ray chose."""
    pipeline = _pipeline_for(spec, stage_errors)
    return process_item(item, pipeline, video=video, annotated=annotated,
                        on_frames=lambda done, total: progress.report.remote(index, done, total))


class _Progress:
    """The workers' newest frame counts per work item, read (and emptied) by the driver."""

    def __init__(self) -> None:
        self._latest: dict[int, tuple[int, int | None]] = {}

    def report(self, index: int, done: int, total: int | None) -> None:
        self._latest[index] = (done, total)

    def take(self) -> dict[int, tuple[int, int | None]]:
        latest, self._latest = self._latest, {}
        return latest


def connect(address: str) -> None:
    """Joins the Ray cluster at ``address`` (``auto``, ``HOST:PORT`` or ``ray://HOST:PORT``) as this batch's driver.

    A head on a loopback address keeps the driver on loopback too. Ray turns ``127.0.0.1`` into the
    machine's network address, so a one-machine cluster that must stay on loopback uses another
    127.x.x.x address (``ray start --head --node-ip-address=127.0.0.2``).
    """
    try:
        import ray
    except ImportError:
        raise VisionDeskError("running a batch on a Ray cluster needs Ray, which is not installed; install it with "
                              "pip install 'vision-desk[cluster]' (or pip install 'ray[default]').") from None
    if ray.is_initialized():
        return
    options: dict[str, Any] = {}
    if address != "auto":
        host, _, port = address.split("://")[-1].rpartition(":")
        _check_reachable(address, host, port)
        try:
            if ipaddress.ip_address(host).is_loopback and not address.startswith("ray://"):
                options["_node_ip_address"] = host
        except ValueError:
            pass  # a host name
    forwarded = {k: v for k, v in os.environ.items() if k.startswith("VISION_DESK_")}
    try:
        ray.init(address=address, runtime_env={"env_vars": forwarded}, logging_level="ERROR",
                 log_to_driver=False, **options)
    except (ConnectionError, RuntimeError, ValueError) as err:
        raise VisionDeskError(
            f"cannot join the Ray cluster at {address} ({str(err).splitlines()[0][:160]}); start one with "
            "`ray start --head` and give its address, or give auto on a machine that joined one.") from None


def disconnect() -> None:
    """Leaves the Ray cluster this process joined, if any, so that the next batch joins the address it is given.

    :func:`connect` keeps a joined cluster for the life of the process (a CLI batch is one process); the app
    runs many batches, each perhaps on another cluster. The cluster itself goes on running.
    """
    import sys

    ray = sys.modules.get("ray")  # never imported: never joined
    if ray is not None and ray.is_initialized():
        ray.shutdown()


def _check_reachable(address: str, host: str, port: str) -> None:
    """Fails in one sentence at once when nothing listens at the address (Ray itself retries for a minute)."""
    if not (host and port.isdigit()):
        raise VisionDeskError(f"'{address}' is not a Ray cluster address; give HOST:PORT, ray://HOST:PORT or auto.")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as err:
        raise VisionDeskError(f"cannot reach the Ray cluster at {address} ({err.strerror or err}); start its head with "
                              "`ray start --head` and give the address it prints, or check the host and port.") from None


def gpus_per_task(spec: PipelineSpec, cluster_gpus: float) -> float:
    """1 when a stage runs on a GPU and the cluster has GPUs, else 0: Ray then places those tasks only on nodes
    with a free GPU, and CPU-only pipelines on any node."""
    return 1.0 if cluster_gpus > 0 and wants_gpu(spec) else 0.0


def run_on_ray(items: list[BatchItem], todo: list[BatchItem], spec: PipelineSpec, address: str, *,
               video: bool, annotated: bool, on_progress: Callable[[BatchProgress], None] | None,
               on_item_done: Callable[[BatchItem], None] | None, cancel: threading.Event | None,
               t_start: float, stage_errors: str = "raise") -> None:
    """Processes ``todo`` (part of ``items``) as Ray tasks on the cluster at ``address``, updating each item in place."""
    import ray

    connect(address)
    gpus = gpus_per_task(spec, ray.cluster_resources().get("GPU", 0))
    task = ray.remote(num_cpus=1, num_gpus=gpus, max_retries=RETRIES, retry_exceptions=False)(_run_item)
    progress = ray.remote(num_cpus=0)(_Progress).remote()
    spec_dict = spec.as_dict()
    position = {id(item): n for n, item in enumerate(items)}
    refs = {task.remote(spec_dict, item, video, annotated, position[id(item)], progress, stage_errors): position[id(item)]
            for item in todo}
    pending = list(refs)
    try:
        while pending:
            done, pending = ray.wait(pending, num_returns=len(pending), timeout=0.1, fetch_local=True)
            if cancel is not None and cancel.is_set():
                for ref in pending:
                    ray.cancel(ref, force=True)
            report_progress(ray.get(progress.take.remote()), items, on_progress, t_start)
            for ref in done:
                item = items[refs[ref]]
                _settle(item, ref)
                if on_item_done:
                    on_item_done(item)
    finally:
        ray.kill(progress)


def _settle(item: BatchItem, ref: Any) -> None:
    """Copies a task's result into the item, or says in one sentence why there is none."""
    import ray

    try:
        result = ray.get(ref)
    except ray.exceptions.TaskCancelledError:
        item.status = ItemStatus.CANCELLED
        return
    except ray.exceptions.RayError as err:
        kind = type(err).__name__
        item.status = ItemStatus.FAILED
        item.error = (f"the Ray task for {item.rel} failed {RETRIES + 1} times ({kind}: its worker or node stopped); "
                      "check the cluster with `ray status`, then run the batch again with --resume")
        return
    item.take_result(result)

