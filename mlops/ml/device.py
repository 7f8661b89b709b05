"""The one place that sets up the compute device for a training or inference run."""

import contextlib
import os
import random
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DeviceInfo:
    backend: str
    accelerator: str  # "cpu" or "gpu"
    description: str
    mixed_precision: bool

    def __str__(self) -> str:
        return self.description


def setup_device(*, seed: int, cpu_threads: int = 0) -> DeviceInfo:
    """Seed every generator, size CPU thread pools and prepare GPUs if there are any.

    On a GPU: memory growth (TensorFlow) so that one worker does not grab the whole
    card, and mixed precision. Works on the TensorFlow, JAX and PyTorch backends.
    """
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    random.seed(seed)
    np.random.seed(seed)
    import keras

    backend = keras.backend.backend()
    gpus = _find_gpus(backend, cpu_threads)
    keras.utils.set_random_seed(seed)
    mixed = bool(gpus)
    keras.mixed_precision.set_global_policy("mixed_float16" if mixed else "float32")
    if gpus:
        description = f"{backend} on {len(gpus)} GPU(s): {', '.join(gpus)}"
    else:
        threads = cpu_threads or os.cpu_count() or 1
        description = f"{backend} on CPU ({threads} threads)"
    return DeviceInfo(backend, "gpu" if gpus else "cpu", description, mixed)


def _find_gpus(backend: str, cpu_threads: int) -> list[str]:
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        # RuntimeError: the runtime is already initialised in this process; keep it.
        for gpu in gpus:
            with contextlib.suppress(RuntimeError):
                tf.config.experimental.set_memory_growth(gpu, True)
        if cpu_threads:
            with contextlib.suppress(RuntimeError):
                tf.config.threading.set_intra_op_parallelism_threads(cpu_threads)
                tf.config.threading.set_inter_op_parallelism_threads(
                    min(2, cpu_threads)
                )
        return [gpu.name for gpu in gpus]
    if backend == "jax":
        import jax

        return [str(d) for d in jax.devices() if d.platform == "gpu"]
    if backend == "torch":
        import torch

        if cpu_threads:
            torch.set_num_threads(cpu_threads)
        if torch.cuda.is_available():
            return [
                torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())
            ]
    return []
