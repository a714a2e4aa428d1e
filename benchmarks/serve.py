"""``rescap serve`` under load: throughput and latency at 1, 4, 16 and 32 concurrent clients against
calling ``Captioner.caption`` one image at a time in-process (the anchor, measured in the same run).

The tiny random-weight VLM (real Qwen2-VL architecture, built here) runs behind a real server
subprocess on 127.0.0.1; clients send 512x512 degraded photos as data URLs through the
OpenAI-compatible chat endpoint, each waiting for its reply before sending the next.

    python benchmarks/serve.py [--requests 64] [--arch qwen2_vl]

Targets: >= 5x the anchor's throughput at 32 clients; p50 latency at 1 client <= 1.15x the anchor's.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import base64  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from captioner import photos  # noqa: E402

LEVELS = (1, 4, 16, 32)


def png(a: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "PNG")
    return buf.getvalue()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chat_body(data: bytes, restorer: str) -> bytes:
    """A chat request for one image, encoded once: clients hold their requests ready, so the load
    generator's own JSON and base64 work (it shares the machine's cores) stays out of the figures."""
    body = {"model": f"rescap-{restorer}", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + base64.b64encode(data).decode()}}]}]}  # fmt: skip
    return json.dumps(body).encode()


def ask(url: str, body: bytes) -> float:
    request = urllib.request.Request(url + "/v1/chat/completions", data=body, headers={"Content-Type": "application/json"})
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as r:
        reply = json.loads(r.read())
    assert reply["choices"][0]["message"]["content"] is not None
    return time.perf_counter() - start


def batch_totals(url: str) -> tuple[float, float]:
    """(batches, images) the server has captioned so far, from its /metrics."""
    text = urllib.request.urlopen(url + "/metrics", timeout=10).read().decode()
    get = lambda name: sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name))  # noqa: E731
    return get("rescap_batch_size_count"), get("rescap_batch_size_sum"), get("rescap_batch_seconds_sum")


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=64, help="requests per concurrency level (at least 2 per client)")
    parser.add_argument("--arch", default="qwen2_vl", choices=["qwen2_vl", "idefics3"])
    parser.add_argument("--restorer", default="supir")
    parser.add_argument("--max-wait-ms", type=float, default=10.0)
    parser.add_argument("--max-batch", type=int, default=32)
    args = parser.parse_args()

    from rescap.backends import create_backend
    from rescap.captioning.captioner import Captioner
    from rescap.testing.tiny_vlm import build_tiny_vlm

    root = Path(tempfile.mkdtemp(prefix="rescap-servebench-"))
    vlm = build_tiny_vlm(args.arch, root / args.arch)
    images = [png(a) for a in photos(16)]
    model = f"transformers:{vlm}"

    # the anchor: the same captioner, called one image at a time in this process
    captioner = Captioner(create_backend(model, device="cpu", batch_size=32), restorer=args.restorer, relevance="off")
    captioner.caption(images[0])  # warm-up
    direct: list[float] = []

    def anchor() -> None:  # run before and after the server's levels: drift of a busy machine evens out
        for data in images:
            start = time.perf_counter()
            captioner.caption(data)
            direct.append(time.perf_counter() - start)

    anchor()

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "rescap.cli", "serve", "--vlm", model, "--restorer", args.restorer, "--relevance", "off",
         "--port", str(port), "--max-batch", str(args.max_batch), "--max-wait-ms", str(args.max_wait_ms), "-O", "batch_size=32", "-O", "device=cpu"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.time() + 300
        while True:
            try:
                urllib.request.urlopen(url + "/health", timeout=1).read()
                break
            except OSError:
                if server.poll() is not None or time.time() > deadline:
                    print(server.stderr.read() if server.stderr else "", file=sys.stderr)
                    raise SystemExit("the server did not start")
                time.sleep(0.2)
        bodies = [chat_body(data, args.restorer) for data in images]
        ask(url, bodies[0])  # warm-up
        results = []
        for clients in LEVELS:
            n = max(args.requests, 2 * clients)
            before = batch_totals(url)
            start = time.perf_counter()
            with ThreadPoolExecutor(clients) as pool:
                latencies = list(pool.map(lambda i: ask(url, bodies[i % len(bodies)]), range(n)))
            wall = time.perf_counter() - start
            after = batch_totals(url)
            results.append((clients, n, wall, latencies, before, after))
    finally:
        server.terminate()
        server.wait(60)
    anchor()
    captioner.backend.close()
    direct_p50 = statistics.median(direct)
    direct_rate = len(direct) / sum(direct)
    print(f"tiny {args.arch} VLM, restorer {args.restorer}, 512x512 PNGs as data URLs, {args.requests} requests per level")
    print(f"anchor: Captioner.caption one image at a time, in-process, {len(direct)} calls (half before, half after the server): "
          f"{direct_rate:.2f} img/s, p50 {direct_p50 * 1000:.0f} ms\n")  # fmt: skip
    print(f"{'clients':>8}{'img/s':>9}{'x anchor':>10}{'p50 ms':>9}{'p95 ms':>9}{'p50 x anchor':>14}{'batch':>7}{'VLM busy':>10}")
    rows = {}
    for clients, n, wall, latencies, before, after in results:
        rate = n / wall
        rows[clients] = (rate, percentile(latencies, 50), percentile(latencies, 95))
        mean_batch = (after[1] - before[1]) / max(after[0] - before[0], 1)
        busy = (after[2] - before[2]) / wall  # share of the wall time the VLM had a batch
        print(f"{clients:>8}{rate:>9.2f}{rate / direct_rate:>9.1f}x{rows[clients][1] * 1000:>9.0f}{rows[clients][2] * 1000:>9.0f}"
              f"{rows[clients][1] / direct_p50:>13.2f}x{mean_batch:>7.1f}{busy * 100:>9.0f}%")  # fmt: skip
    speedup = rows[32][0] / direct_rate
    latency = rows[1][1] / direct_p50
    print("\ntargets")
    print(f"  {'PASS' if speedup >= 5 else 'FAIL'}  throughput at 32 clients: {speedup:.1f}x the anchor (>= 5x)")
    print(f"  {'PASS' if latency <= 1.15 else 'FAIL'}  p50 latency at 1 client: {latency:.2f}x the anchor (<= 1.15x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
