import json

import jsonschema
import pytest

from rescap.backends import BatchGenerationError, GenerationParams, ModelNotFoundError, create_backend, text_message
from rescap.backends.structured import token_budget

from .conftest import CAPTION_SCHEMA

pytest.importorskip("transformers")
pytest.importorskip("xgrammar")

ARCHS = ["qwen2_vl", "idefics3"]


@pytest.fixture(scope="module")
def backends(tiny_models):
    made = {arch: create_backend(f"transformers:{path}", device="cpu", batch_size=8) for arch, path in tiny_models.items()}
    yield made
    for b in made.values():
        b.close()


def conversations(pictures, with_text_only: bool = True):
    convs = [[text_message("user", f"Describe picture {i} in detail.", [p])] for i, p in enumerate(pictures)]
    if with_text_only:
        convs.append([{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Say something."}])
    return convs


@pytest.mark.parametrize("arch", ARCHS)
def test_batched_equals_one_by_one_under_greedy(backends, pictures, arch):
    backend = backends[arch]
    convs = conversations(pictures, with_text_only=(arch == "qwen2_vl"))
    params = GenerationParams(max_new_tokens=20)
    batched = backend.generate(convs, params)
    single = [backend.generate([c], params)[0] for c in convs]
    assert [r.text for r in batched] == [r.text for r in single]
    assert all(r.completion_tokens and r.completion_tokens > 0 for r in batched)
    assert len({r.text for r in batched}) > 1  # the images do reach the model


@pytest.mark.parametrize("arch", ARCHS)
def test_json_schema_output_is_valid_for_every_item(backends, pictures, arch):
    params = GenerationParams(max_new_tokens=token_budget(CAPTION_SCHEMA), json_schema=CAPTION_SCHEMA)
    results = backends[arch].generate(conversations(pictures, with_text_only=False), params)
    assert len(results) == len(pictures)
    for r in results:
        jsonschema.validate(json.loads(r.text), CAPTION_SCHEMA)  # strict JSON parse, then the schema


def test_sampling_is_reproducible_with_a_seed(backends, pictures):
    params = GenerationParams(max_new_tokens=12, temperature=1.0, seed=7)
    convs = conversations(pictures[:2], with_text_only=False)
    assert [r.text for r in backends["qwen2_vl"].generate(convs, params)] == [
        r.text for r in backends["qwen2_vl"].generate(convs, params)
    ]


def test_a_bad_item_fails_alone(backends, pictures):
    convs = conversations(pictures[:3], with_text_only=False)
    convs[1] = [text_message("user", "broken", ["/no/such/image.png"])]
    with pytest.raises(BatchGenerationError) as info:
        backends["idefics3"].generate(convs, GenerationParams(max_new_tokens=8))
    err = info.value
    assert err.failed_indices == [1]
    assert "items 1" in str(err) and "image.png" in err.results[1].error
    assert err.results[0].ok and err.results[2].ok


def test_json_cut_by_the_token_limit_is_reported(backends, pictures):
    params = GenerationParams(max_new_tokens=5, json_schema=CAPTION_SCHEMA)
    with pytest.raises(BatchGenerationError, match="max_new_tokens"):
        backends["qwen2_vl"].generate(conversations(pictures[:1], with_text_only=False), params)


def test_missing_local_model_says_where_it_looked(tmp_path):
    with pytest.raises(ModelNotFoundError) as info:
        create_backend(f"transformers:{tmp_path}/nothing-here")
    message = str(info.value)
    assert "nothing-here" in message and "looked in" in message and "\n" not in message and "--vlm transformers:/path/to/model" in message


@pytest.mark.parametrize("offline", ["1", ""])
def test_missing_hub_model_names_model_revision_and_fix(monkeypatch, tmp_path, offline):
    monkeypatch.setenv("HF_HUB_OFFLINE", offline)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there: unreachable at once
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(ModelNotFoundError) as info:
        create_backend("transformers:")  # the default model, not downloaded here
    message = str(info.value)
    assert "HuggingFaceTB/SmolVLM-500M-Instruct" in message and "a7da5b986cb59b408707209984f360a5f4ad7e47" in message
    assert "hf download" in message and "--vlm transformers:/path/to/model" in message
    assert ("HF_HUB_OFFLINE" if offline else "not reachable") in message


def test_folder_without_config_is_not_a_model(tmp_path):
    (tmp_path / "weights.bin").write_bytes(b"")
    with pytest.raises(ModelNotFoundError, match="config.json"):
        create_backend(f"transformers:{tmp_path}")


def test_an_odd_image_does_not_sink_its_micro_batch(backends, pictures):
    from PIL import Image

    convs = conversations(pictures[:3], with_text_only=False)
    convs[1] = [text_message("user", "odd", [Image.new("RGB", (4000, 12))])]  # beyond Qwen2-VL's aspect limit
    with pytest.raises(BatchGenerationError) as info:
        backends["qwen2_vl"].generate(convs, GenerationParams(max_new_tokens=6))
    assert info.value.failed_indices == [1]


def test_stop_strings_end_the_text_like_other_backends(backends, pictures):
    convs = conversations(pictures[:1], with_text_only=False)
    full = backends["qwen2_vl"].generate(convs, GenerationParams(max_new_tokens=20))[0].text
    stop = full.strip().split()[1] if len(full.split()) > 1 else full[2:4]
    cut = backends["qwen2_vl"].generate(convs, GenerationParams(max_new_tokens=20, stop=[stop]))[0]
    assert stop not in cut.text and cut.finish_reason == "stop" and full.startswith(cut.text)
