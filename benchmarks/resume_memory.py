"""Memory to resume a big re-captioning job: peak RSS of deciding what is done from a JSONL log of
N realistic records, against the same process on an empty log (the anchor, same run).

Target (issue 13): resuming a 1,000,000-record log peaks under 300 MB above the empty-log run.

    python benchmarks/resume_memory.py [--records 1000000] [--keep]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import resource, sys, time
from pathlib import Path
from rescap.recaption.writers import JsonlWriter
start = time.perf_counter()
writer = JsonlWriter(Path(sys.argv[1]))
ok, failed = writer.done()
seconds = time.perf_counter() - start
writer.close()
print(len(ok), len(failed), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, f"{seconds:.3f}")
"""


def write_log(path: Path, n: int) -> None:
    """Records as rescap writes them: caption, prompts, degradation report, timings (~1.3 KB each)."""
    from rescap.recaption.writers import RecaptionRecord
    from rescap.testing.caption_corpus import CAPTIONS

    degradation = {
        "noise_sigma": 7.81, "blur_sigma": 1.12, "jpeg_quality": 62, "scale_factor": 2.0, "noise_severity": 0.31,
        "blur_severity": 0.28, "jpeg_severity": 0.44, "scale_severity": 0.35, "noise_level": "mild", "blur_level": "mild",
        "jpeg_level": "moderate", "scale_level": "moderate", "overall_severity": 0.81, "overall_level": "severe",
    }  # fmt: skip
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            caption = CAPTIONS[i % len(CAPTIONS)]
            record = RecaptionRecord(
                file=f"shard-{i // 10000:05d}.tar/{i:09d}.jpg", status="ok" if i % 50 else "error", caption=caption,
                positive_prompt=caption + " Cinematic, High Contrast, highly detailed", negative_prompt="painting, oil painting, noise",
                restoration_prompt="denoise with sigma 8; deblur with sigma 1.1", degradation=degradation, model="transformers:x",
                rescap_version="0.1.0", timings={"estimate": 0.012, "vlm_caption": 0.41, "control": 0.003},
            )  # fmt: skip
            fh.write(record.model_dump_json() + "\n")


def measure(path: Path) -> tuple[int, int, float]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True).stdout.split()
    return int(out[0]) + int(out[1]), int(out[2]) // 1024, float(out[3])  # records, peak MB (ru_maxrss is KB on Linux), s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the generated log")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="rescap-resume-"))
    empty, big = folder / "empty.jsonl", folder / "big.jsonl"
    empty.write_text("")
    t0 = time.perf_counter()
    write_log(big, args.records)
    size_mb = big.stat().st_size / 1e6
    print(f"log: {args.records:,} records, {size_mb:,.0f} MB, written in {time.perf_counter() - t0:.0f} s")
    n0, anchor, _ = measure(empty)
    n1, peak, seconds = measure(big)
    assert n0 == 0 and n1 == args.records, (n0, n1)
    extra = peak - anchor
    print(f"empty log (anchor)        peak RSS {anchor:5d} MB")
    print(f"{args.records:>9,}-record log    peak RSS {peak:5d} MB  (+{extra} MB above the anchor; target < 300 MB): "
          f"{'met' if extra < 300 else 'NOT met'}; deciding what is done took {seconds:.1f} s "
          f"({seconds / args.records * 1e6:.1f} us per record)")  # fmt: skip
    if not args.keep:
        big.unlink()
        empty.unlink()
        folder.rmdir()


if __name__ == "__main__":
    main()
