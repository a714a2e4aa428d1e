import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, str]:
    """Tiny random-weight Qwen2-VL and Idefics3, saved once per run, loaded by the tests like any model."""
    pytest.importorskip("transformers")
    from rescap.testing.tiny_vlm import build_tiny_vlm

    root = tmp_path_factory.mktemp("tiny-vlms")
    return {arch: str(build_tiny_vlm(arch, root / arch)) for arch in ("qwen2_vl", "idefics3")}


@pytest.fixture(scope="session")
def pictures() -> list[Image.Image]:
    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 255, (48 + 16 * (i % 3), 64 + 8 * i, 3), dtype=np.uint8)) for i in range(6)]


CAPTION_SCHEMA = {
    "type": "object",
    "properties": {
        "caption": {"type": "string", "maxLength": 40},
        "level": {"enum": ["none", "mild", "moderate", "severe"]},
        "regions": {
            "type": "array",
            "maxItems": 3,
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string", "maxLength": 12}, "score": {"type": "integer", "minimum": 0, "maximum": 9}},
                "required": ["name", "score"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["caption", "level", "regions"],
    "additionalProperties": False,
}
