"""The one place the case study's prices live, with where they come from: capacity.py prices the
vCPUs and the memory each flavour needs at these rates, and the case study prints this source line
under its cost column. Change a rate here, run `python -m benchmarks.case_study_doc update`, and
every cost follows."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ComputePrice:
    provider: str
    region: str
    platform: str  # operating system and CPU architecture the rate is for
    usd_per_vcpu_hour: float
    usd_per_gb_hour: float  # a GB of task memory is 1024 MiB (task definitions count in MiB)
    source: str  # the primary source
    checked: str  # when and how the rates were read, and how far to trust them
    # Fargate bills the task size you choose, not what the processes use: a task of 1 vCPU or more
    # has at least this much memory per vCPU, in whole GB.
    min_gb_per_vcpu: int
    task_sizes_source: str


FARGATE_US_EAST_1 = ComputePrice(
    provider="AWS Fargate, on demand",
    region="US East (N. Virginia), us-east-1",
    platform="Linux/x86",
    usd_per_vcpu_hour=0.04048,
    usd_per_gb_hour=0.004445,
    source="https://aws.amazon.com/fargate/pricing/",
    # The AWS page could not be loaded from the machine this was written on; these are the rates
    # that several third-party summaries dated March to June 2026 quote identically.
    checked=(
        "checked on 2026-11-28 via third-party summaries; verify on the AWS page before relying "
        "on the cost column"
    ),
    min_gb_per_vcpu=2,
    task_sizes_source=(
        "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-cpu-memory-error.html"
    ),
)
