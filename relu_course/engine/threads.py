"""How many threads the numerical libraries of a trusted grading process may start.

PyTorch, OpenMP and the BLAS libraries start a thread per core in every process that uses
them. Where several grading processes share the cores, that is cores x processes threads that
spin against each other: measured on 2 cores, ``-j 2`` graded the example class three times
slower so (``bench/cluster_speed.py``), most of it numpy's OpenBLAS, loaded before the grading
processes are forked, and the children's. Each grading process is therefore given its share of
the cores (threadpoolctl for the libraries already loaded), and each sandboxed child one thread
(``client.clean_environment``).
"""
from __future__ import annotations

import os
import sys

#: the variables OpenMP, MKL and OpenBLAS read when they load
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def available_cores() -> int:
    """The number of cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def share_of_cores(processes: int) -> int:
    """The threads each of ``processes`` grading processes on this machine may use (at least 1)."""
    return max(1, available_cores() // max(1, processes))


def limit_threads(count: int) -> None:
    """Let this process's numerical libraries use ``count`` threads: those loaded already (OpenBLAS,
    OpenMP) through threadpoolctl and PyTorch's own setting, those loaded later through the
    environment they read."""
    from threadpoolctl import threadpool_limits

    for name in THREAD_VARIABLES:
        os.environ[name] = str(count)
    threadpool_limits(limits=count)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(count)
