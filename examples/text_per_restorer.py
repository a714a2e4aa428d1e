"""What each restorer receives for one realistic VLM answer: the raw caption, rescap's caption,
the final positive prompt, and the token count of every slot against its window.

The VLM here is scripted with a long, detailed answer (as real VLMs give, whatever length they
are asked for), so the example runs anywhere without a model:

    python examples/text_per_restorer.py [IMAGE] [--richness long] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rescap.adapters import available_adapters, get_adapter
from rescap.captioning.captioner import Captioner
from rescap.captioning.steps import content_schema, degradation_schema
from rescap.control.richness import RichnessPolicy
from rescap.testing.caption_corpus import CAPTIONS
from rescap.testing.openai_standin import SchemaFiller
from rescap.testing.scripted import ScriptedBackend

HERE = Path(__file__).resolve().parent
RAW = CAPTIONS[1]  # an English answer with degradation words and a long tail


def scripted_vlm(caption: str) -> ScriptedBackend:
    filler = SchemaFiller([caption])
    schemas = {"degradation": degradation_schema(), "content": content_schema(5)}

    def answer(prompt: str, step: str) -> str:
        if step == "caption":
            return json.dumps({"caption": caption})
        return json.dumps(filler.fill(schemas[step]))

    return ScriptedBackend(answer)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", nargs="?", default=str(HERE / "images" / "astronaut_mix.png"))
    parser.add_argument("--richness", default="long")
    parser.add_argument("--caption", default=RAW, help="the VLM's answer to script")
    parser.add_argument("--json", action="store_true", help="one JSON object per restorer")
    args = parser.parse_args()
    names = sorted(n for n in available_adapters() if n != "diffusers")
    if not args.json:
        print(f"VLM answer ({len(args.caption.split())} words):\n  {args.caption}\n")
    for name in names:
        adapter = get_adapter(name)
        captioner = Captioner(scripted_vlm(args.caption), restorer=adapter, relevance=None, policy=RichnessPolicy(mode=args.richness))
        bundle = captioner.caption(args.image)
        slots = [{"argument": s.argument, "tokens": s.tokens, "usable": s.usable, "caption_tokens": s.caption_tokens} for s in bundle.token_counts.slots]
        if args.json:
            print(json.dumps({"restorer": name, "caption": bundle.caption, "positive_prompt": bundle.positive_prompt, "slots": slots,
                              "target": bundle.richness.target_tokens, "removed": bundle.removed}, ensure_ascii=False))  # fmt: skip
            continue
        counts = ", ".join(f"{s['argument']} {s['tokens']}/{s['usable']} (caption {s['caption_tokens']})" for s in slots)
        print(f"== {name}  [{counts}; target {bundle.richness.target_tokens}, {bundle.token_counts.counter}]")
        print(f"  caption : {bundle.caption}")
        print(f"  positive: {bundle.positive_prompt}")
        if bundle.removed:
            print(f"  removed : {' | '.join(bundle.removed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
