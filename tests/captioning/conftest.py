import pytest


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> dict[str, str]:
    """Tiny random-weight Qwen2-VL, Idefics3 and CLIP, saved once per run."""
    pytest.importorskip("transformers")
    from rescap.testing.tiny_clip import build_tiny_clip
    from rescap.testing.tiny_vlm import build_tiny_vlm

    root = tmp_path_factory.mktemp("tiny-captioning")
    return {
        "qwen2_vl": str(build_tiny_vlm("qwen2_vl", root / "qwen2_vl")),
        "idefics3": str(build_tiny_vlm("idefics3", root / "idefics3")),
        "clip": str(build_tiny_clip(root / "clip")),
    }
