import json

import pytest


@pytest.fixture(scope="session")
def tiny_pipelines(tmp_path_factory) -> dict[str, str]:
    pytest.importorskip("diffusers")
    from rescap.testing.tiny_diffusers import build_tiny_pipeline

    root = tmp_path_factory.mktemp("tiny-pipelines")
    return {kind: str(build_tiny_pipeline(kind, root / kind)) for kind in ("upscale", "img2img", "controlnet")}


def scripted_answer(prompt, step):
    if step == "degradation":
        return json.dumps({"assessment": "noisy", "noise": "severe", "blur": "none", "compression": "none", "resolution": "none", "other": []})
    if step == "content":
        return json.dumps({"scene": "a street", "subjects": [{"name": "a car", "area": "large", "category": "insensitive"}]})
    return json.dumps({"caption": "A red car parked on a wet street, blurry and noisy."})


class PipelineSpy:
    """Stands in for a pipeline: records every call's keyword arguments, then runs the real one."""

    def __init__(self, pipe):
        self.pipe = pipe
        self.calls: list[dict] = []
        self.tokenizer = pipe.tokenizer

    def __call__(self, **kwargs):
        self.calls.append(kwargs)
        return self.pipe(**kwargs)


import inspect  # noqa: E402


def _spy_signature(spy: PipelineSpy):
    spy.__call__.__func__.__signature__ = inspect.signature(spy.pipe.__call__)
