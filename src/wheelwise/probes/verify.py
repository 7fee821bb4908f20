"""wheelwise verify probe: is the accelerator really used?  JSON out.

Run by the interpreter of the environment being verified:
``python verify.py [--framework NAME]... [--size N] [--runs K]``.  Standard
library plus the frameworks it measures; Python 3.8 syntax.  For each
framework it finds: import time and version, build facts, devices, a
placement test (a real matrix multiply pinned to the accelerator with soft
placement off, reading back where it ran) and a CPU-vs-accelerator matrix
multiply benchmark (warm-up, then timed runs; the median counts).
"""

import importlib
import json
import os
import sys
import time
import traceback
from typing import Any, Callable, Dict, List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from host import macos_hardware, sysctl_value  # type: ignore[import-not-found]  # noqa: E402

SCHEMA = "wheelwise.verify/1"
Result = Dict[str, Any]


def _median(values: List[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def bench(run: Callable[[], None], size: int, runs: int, warmup: int = 2) -> Result:
    """Time *run* (one n x n float32 matmul, synchronised): GFLOP/s of the median run."""
    for _ in range(warmup):
        run()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    median = _median(times)
    return {"size": size, "runs": runs, "median_s": median, "gflops": 2.0 * size**3 / median / 1e9, "times_s": times}


def _speedup(cpu: Optional[Result], accel: Optional[Result]) -> Optional[float]:
    if cpu and accel and accel.get("median_s"):
        return float(cpu["median_s"]) / float(accel["median_s"])
    return None


# -- PyTorch --------------------------------------------------------------------------


def verify_torch(size: int, runs: int) -> Result:
    start = time.perf_counter()
    torch = importlib.import_module("torch")
    out = {"framework": "torch", "version": torch.__version__, "import_s": time.perf_counter() - start}  # type: Result
    mps = getattr(torch.backends, "mps", None)
    out["build"] = {
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "mps_built": bool(mps and mps.is_built()),
    }
    devices = [{"kind": "cpu", "name": "cpu"}]
    accel = None
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            devices.append({"kind": "cuda", "name": torch.cuda.get_device_name(i)})
        accel = "cuda"
    elif mps is not None and mps.is_available():
        devices.append({"kind": "mps", "name": "mps"})
        accel = "mps"
    out["devices"] = devices
    out["accelerator"] = accel

    def sync() -> None:
        if accel == "cuda":
            torch.cuda.synchronize()
        elif accel == "mps":
            torch.mps.synchronize()

    def matmul_on(device: str) -> Callable[[], None]:
        a = torch.rand(size, size, dtype=torch.float32, device=device)
        b = torch.rand(size, size, dtype=torch.float32, device=device)

        def run() -> None:
            a @ b
            if device != "cpu":
                sync()

        return run

    if accel:
        x = torch.ones(64, 64, device=accel)
        y = x @ x
        sync()
        out["placement"] = {"requested": accel, "ran_on": y.device.type, "ok": y.device.type == accel, "value_ok": float(y[0, 0].item()) == 64.0}
    else:
        out["placement"] = {"requested": None, "ran_on": "cpu", "ok": False, "reason": "no accelerator visible to torch"}
    out["benchmark"] = {"cpu": bench(matmul_on("cpu"), size, runs)}
    if accel:
        out["benchmark"][accel] = bench(matmul_on(accel), size, runs)
    out["benchmark"]["speedup"] = _speedup(out["benchmark"]["cpu"], out["benchmark"].get(accel or ""))
    return out


# -- TensorFlow -----------------------------------------------------------------------


def verify_tensorflow(size: int, runs: int) -> Result:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    start = time.perf_counter()
    tf = importlib.import_module("tensorflow")
    out = {"framework": "tensorflow", "version": tf.__version__, "import_s": time.perf_counter() - start}  # type: Result
    info = dict(tf.sysconfig.get_build_info())
    plugins = os.path.join(os.path.dirname(os.path.dirname(str(tf.__file__))), "tensorflow-plugins")
    out["build"] = {
        "cuda": info.get("cuda_version"),
        "cudnn": info.get("cudnn_version"),
        "is_cuda_build": info.get("is_cuda_build"),
        "plugins": sorted(os.listdir(plugins)) if os.path.isdir(plugins) else [],
    }
    gpus = tf.config.list_physical_devices("GPU")
    out["devices"] = [{"kind": d.device_type.lower(), "name": d.name} for d in tf.config.list_physical_devices()]
    accel = "gpu" if gpus else None
    out["accelerator"] = accel
    tf.config.set_soft_device_placement(False)

    def matmul_on(device: str) -> Callable[[], None]:
        with tf.device(device):
            a = tf.random.uniform((size, size), dtype=tf.float32)
            b = tf.random.uniform((size, size), dtype=tf.float32)

        def run() -> None:
            with tf.device(device):
                tf.matmul(a, b).numpy()

        return run

    if accel:
        try:
            with tf.device("/GPU:0"):
                c = tf.matmul(tf.ones((64, 64)), tf.ones((64, 64)))
            out["placement"] = {"requested": "/GPU:0", "ran_on": c.device, "ok": "GPU" in c.device.upper()}
        except Exception as exc:  # noqa: BLE001 - a failed placement is the answer
            out["placement"] = {"requested": "/GPU:0", "ran_on": None, "ok": False, "reason": str(exc).splitlines()[0]}
    else:
        out["placement"] = {"requested": None, "ran_on": "cpu", "ok": False, "reason": "TensorFlow lists no GPU"}
    out["benchmark"] = {"cpu": bench(matmul_on("/CPU:0"), size, runs)}
    if accel and out["placement"]["ok"]:
        out["benchmark"]["gpu"] = bench(matmul_on("/GPU:0"), size, runs)
    out["benchmark"]["speedup"] = _speedup(out["benchmark"]["cpu"], out["benchmark"].get("gpu"))
    return out


# -- JAX -------------------------------------------------------------------------------


def verify_jax(size: int, runs: int) -> Result:
    start = time.perf_counter()
    jax = importlib.import_module("jax")
    jnp = importlib.import_module("jax.numpy")
    out = {"framework": "jax", "version": jax.__version__, "import_s": time.perf_counter() - start}  # type: Result
    jaxlib = importlib.import_module("jaxlib")
    out["build"] = {"jaxlib": getattr(jaxlib, "__version__", None), "backend": jax.default_backend()}
    devices = jax.devices()
    out["devices"] = [{"kind": d.platform, "name": getattr(d, "device_kind", str(d))} for d in devices]
    accelerators = [d for d in devices if d.platform != "cpu"]
    cpu_devices = jax.devices("cpu")
    accel = accelerators[0] if accelerators else None
    out["accelerator"] = accel.platform if accel else None

    def matmul_on(device: Any) -> Callable[[], None]:
        key = jax.random.PRNGKey(0)
        a = jax.device_put(jax.random.uniform(key, (size, size), dtype=jnp.float32), device)
        b = jax.device_put(jax.random.uniform(key, (size, size), dtype=jnp.float32), device)
        f = jax.jit(jnp.matmul)

        def run() -> None:
            f(a, b).block_until_ready()

        return run

    if accel is not None:
        x = jax.device_put(jnp.ones((64, 64)), accel)
        y = (x @ x).block_until_ready()
        where = sorted(d.platform for d in y.devices())
        out["placement"] = {"requested": accel.platform, "ran_on": ",".join(where), "ok": where == [accel.platform]}
    else:
        out["placement"] = {"requested": None, "ran_on": "cpu", "ok": False, "reason": "JAX lists no accelerator"}
    out["benchmark"] = {"cpu": bench(matmul_on(cpu_devices[0]), size, runs)}
    if accel is not None:
        out["benchmark"][accel.platform] = bench(matmul_on(accel), size, runs)
    out["benchmark"]["speedup"] = _speedup(out["benchmark"]["cpu"], out["benchmark"].get(out["accelerator"] or ""))
    return out


VERIFIERS = {"torch": verify_torch, "tensorflow": verify_tensorflow, "jax": verify_jax}


def installed(name: str) -> bool:
    try:
        from importlib import util

        return util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def rosetta() -> Optional[bool]:
    if sys.platform != "darwin":
        return False
    return bool(macos_hardware(sysctl_value, [])["rosetta"])


def main(argv: List[str]) -> int:
    wanted = [argv[i + 1] for i, a in enumerate(argv) if a == "--framework" and i + 1 < len(argv)]
    size = int(argv[argv.index("--size") + 1]) if "--size" in argv else 1024
    runs = int(argv[argv.index("--runs") + 1]) if "--runs" in argv else 5
    names = wanted or [n for n in VERIFIERS if installed(n)]
    # frameworks may print while loading: keep fd 1 for the JSON document alone
    stdout = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    results = []
    for name in names:
        if not installed(name):
            results.append({"framework": name, "error": "%s is not installed in this environment" % name})
            continue
        try:
            results.append(VERIFIERS[name](size, runs))
        except Exception as exc:  # noqa: BLE001 - report, do not crash: the error is the finding
            results.append({"framework": name, "error": "%s: %s" % (type(exc).__name__, exc), "traceback": traceback.format_exc()[-4000:]})
    doc = {"schema": SCHEMA, "python": sys.executable, "version": sys.version.split()[0], "rosetta": rosetta(), "frameworks": results}
    json.dump(doc, stdout)
    stdout.write("\n")
    stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
