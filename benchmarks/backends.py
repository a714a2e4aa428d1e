"""Throughput of each available VLM backend: 32 images batched against one at a time, same run.

Each backend captions 32 photos (greedy, 32 new tokens) twice: as one batch (one ``generate``
call) and one image per call. Printed: images/s both ways, their ratio, and rescap's own overhead
per image (everything but the model call: image fitting and encoding, chat templates,
tokenisation, decoding, JSON normalisation).

    python benchmarks/backends.py                         # tiny transformers models (built here)
    python benchmarks/backends.py --vllm --serve          # also vLLM in-process and via `vllm serve`
    python benchmarks/backends.py --model transformers:/path/to/model --images 32

Targets on the tiny model: batched >= 4x one-at-a-time with vLLM, >= 2x with transformers.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")

import argparse  # noqa: E402
import json  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from pathlib import Path  # noqa: E402

TARGETS = {"transformers": 2.0, "vllm": 4.0, "openai": None}


def photos(n: int, size: int = 256):
    """n natural photos (crops of scikit-image's samples, shifted so no two are identical)."""
    from PIL import Image
    from skimage import data

    sources = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket(), data.stereo_motorcycle()[0]]
    out = []
    for i in range(n):
        a = sources[i % len(sources)]
        y, x = (i * 13) % (a.shape[0] - size), (i * 29) % (a.shape[1] - size)
        out.append(Image.fromarray(a[y : y + size, x : x + size]))
    return out


def run(backend, images, max_new_tokens: int, repeats: int) -> dict:
    from rescap.backends import GenerationParams, text_message

    convs = [[text_message("user", "Describe this photo in one sentence.", [im])] for im in images]
    params = GenerationParams(max_new_tokens=max_new_tokens)
    backend.generate(convs[:2], params)  # warm-up (compilation, caches)
    best_batched, best_single, overhead = float("inf"), float("inf"), float("inf")
    for _ in range(repeats):
        backend.stats = type(backend.stats)()
        t = time.perf_counter()
        backend.generate(convs, params)
        batched = time.perf_counter() - t
        overhead = min(overhead, backend.stats.overhead_seconds / len(convs))
        t = time.perf_counter()
        for c in convs:
            backend.generate([c], params)
        single = time.perf_counter() - t
        best_batched, best_single = min(best_batched, batched), min(best_single, single)
    n = len(convs)
    return {
        "batched_ips": n / best_batched,
        "single_ips": n / best_single,
        "ratio": best_single / best_batched,
        "overhead_ms": overhead * 1000,
    }


def start_server(model_path: str) -> tuple[subprocess.Popen, str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    launcher = Path(__file__).resolve().parents[1] / "tests" / "backends" / "vllm_serve.py"
    cmd = [sys.executable, str(launcher), model_path, "--host", "127.0.0.1", "--port", str(port), "--enforce-eager",
           "--max-model-len", "1024", "--gpu-memory-utilization", "0.2", "--served-model-name", "bench",
           "--structured-outputs-config", json.dumps({"backend": "xgrammar", "disable_any_whitespace": True})]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}/v1"
    for _ in range(150):
        try:
            urllib.request.urlopen(f"{url}/models", timeout=2)
            return proc, url
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(2)
    os.killpg(proc.pid, signal.SIGKILL)
    raise RuntimeError("vllm serve did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--model", action="append", default=[], help="extra model strings to measure")
    parser.add_argument("--vllm", action="store_true", help="also vLLM in-process on the tiny Qwen2-VL")
    parser.add_argument("--serve", action="store_true", help="also the openai backend on a local `vllm serve`")
    args = parser.parse_args()

    from rescap.backends import create_backend
    from rescap.testing.tiny_vlm import build_tiny_vlm

    root = Path(tempfile.mkdtemp(prefix="rescap-bench-"))
    tiny = {arch: str(build_tiny_vlm(arch, root / arch)) for arch in ("qwen2_vl", "idefics3")}
    images = photos(args.images)
    plans = [(f"transformers, tiny {arch}", f"transformers:{path}", {"batch_size": args.images, "device": "cpu"})
             for arch, path in tiny.items()]  # fmt: skip
    plans += [(m, m, {}) for m in args.model]
    if args.vllm:
        plans.append(("vllm in-process, tiny qwen2_vl", f"vllm:{tiny['qwen2_vl']}",
                      {"enforce_eager": True, "max_model_len": 1024, "gpu_memory_utilization": 0.2}))  # fmt: skip
    server = None
    if args.serve:
        server, url = start_server(tiny["qwen2_vl"])
        plans.append(("openai -> vllm serve, tiny qwen2_vl", "openai:bench", {"base_url": url, "concurrency": 32}))

    rows = []
    try:
        for label, model, options in plans:
            backend = create_backend(model, **options)
            try:
                rows.append((label, model.split(":", 1)[0], run(backend, images, args.max_new_tokens, args.repeats)))
            finally:
                backend.close()
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=60)

    print(f"\n{args.images} images, {args.max_new_tokens} new tokens, greedy; best of {args.repeats}")
    print(f"{'backend':<40}{'batched img/s':>14}{'1-by-1 img/s':>14}{'ratio':>8}{'overhead ms/img':>17}  target")
    for label, kind, r in rows:
        target = TARGETS.get(kind)
        verdict = "" if target is None else f"{'PASS' if r['ratio'] >= target else 'FAIL'} >= {target:g}x"
        print(f"{label:<40}{r['batched_ips']:>14.1f}{r['single_ips']:>14.1f}{r['ratio']:>7.1f}x{r['overhead_ms']:>17.2f}  {verdict}")


if __name__ == "__main__":
    main()
