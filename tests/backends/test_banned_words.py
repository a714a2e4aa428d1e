"""Generation-time bans of degradation words (``GenerationParams.banned_words``).

The tiny random-weight Qwen2-VL is steered, by a bias on its logits, to write " blurry" (" blur" then
"ry") over and over: without a ban it does, with one the banned token sequences never appear, also
under JSON-constrained decoding. The openai backend sends ``bad_words`` only when asked to."""

from __future__ import annotations

import json

import jsonschema
import pytest

from rescap.backends import GenerationParams, create_backend, text_message
from rescap.backends.structured import token_budget
from rescap.text.degradation_words import banned_words

from .test_openai_backend import ScriptedServer

pytest.importorskip("transformers")
pytest.importorskip("xgrammar")


@pytest.fixture(scope="module")
def backend(tiny_models):
    made = create_backend(f"transformers:{tiny_models['qwen2_vl']}", device="cpu", batch_size=4)
    yield made
    made.close()


@pytest.fixture(scope="module")
def ids(backend):
    tok = backend.tokenizer

    def one(text: str) -> int:
        pieces = tok.encode(text, add_special_tokens=False)
        assert len(pieces) == 1, (text, tok.convert_ids_to_tokens(pieces))  # the tiny vocabulary has it whole
        return pieces[0]

    return {"Ġblur": one(" blur"), "blur": one("blur"), "ry": one("ry"), "Ġnoise": one(" noise")}


@pytest.fixture
def blurry_model(backend, ids):
    """The model, biased to write " blur" and, right after it, "ry": " blurry blurry blurry ..."."""
    import torch

    def hook(module, args, kwargs, output):
        last = kwargs["input_ids"][:, -1]
        bias = torch.zeros_like(output.logits[:, -1, :])
        after_blur = (last == ids["Ġblur"]) | (last == ids["blur"])
        bias[after_blur, ids["ry"]] = 60.0
        bias[~after_blur, ids["Ġblur"]] = 50.0
        output.logits[:, -1, :] += bias
        return output

    handle = backend.hf_model.register_forward_hook(hook, with_kwargs=True)
    yield backend
    handle.remove()


@pytest.fixture
def calls(backend, monkeypatch):
    """Every ``generate`` call: its keyword arguments and the token ids it returned."""
    seen: list[dict] = []
    real = backend.hf_model.generate

    def spy(**kwargs):
        out = real(**kwargs)
        prompt = kwargs["input_ids"].shape[1]
        seen.append({"kwargs": kwargs, "new": [row[prompt:].tolist() for row in out]})
        return out

    monkeypatch.setattr(backend.hf_model, "generate", spy)
    return seen


def conversations(pictures, n=2):
    return [[text_message("user", f"Describe picture {i}.", [pictures[i]])] for i in range(n)]


def contains(row: list[int], seq: list[int]) -> bool:
    return any(row[k : k + len(seq)] == seq for k in range(len(row) - len(seq) + 1))


def test_token_sequences_cover_casings_and_spacing(backend):
    tok = backend.tokenizer
    sequences = backend.bad_words_ids(GenerationParams(banned_words=["blurry", "JPEG", "low resolution"]))
    for text in ("blurry", " blurry", "Blurry", " Blurry", "BLURRY", " BLURRY", "JPEG", " JPEG", "jpeg", " jpeg",
                 "Jpeg", "low resolution", " low resolution", "Low resolution"):  # fmt: skip
        assert tok.encode(text, add_special_tokens=False) in sequences, text
    assert all(tok.decode(s).strip() in ("blurry", "Blurry", "BLURRY", "JPEG", "jpeg", "Jpeg", "low resolution",
                                         "Low resolution") for s in sequences)  # fmt: skip
    # built once per word list
    assert backend.bad_words_ids(GenerationParams(banned_words=["blurry", "JPEG", "low resolution"])) is sequences


def test_no_banned_words_no_bad_words_ids(blurry_model, calls, pictures):
    results = blurry_model.generate(conversations(pictures), GenerationParams(max_new_tokens=12))
    assert "bad_words_ids" not in calls[0]["kwargs"]
    assert all("blurry blurry" in r.text for r in results)  # the biased model writes the word


def test_banned_sequences_never_appear(blurry_model, calls, ids, pictures):
    params = GenerationParams(max_new_tokens=16, banned_words=["blurry"])
    results = blurry_model.generate(conversations(pictures), params)
    sent = calls[0]["kwargs"]["bad_words_ids"]
    assert [ids["Ġblur"], ids["ry"]] in sent and [ids["blur"], ids["ry"]] in sent
    for row, result in zip(calls[0]["new"], results):
        assert not contains(row, [ids["Ġblur"], ids["ry"]]) and not contains(row, [ids["blur"], ids["ry"]])
        assert "blurry" not in result.text.lower()
        assert ids["Ġblur"] in row  # "blur" itself was not banned: the ban is of the sequence only


def test_single_token_ban(blurry_model, calls, ids, pictures):
    results = blurry_model.generate(conversations(pictures), GenerationParams(max_new_tokens=12, banned_words=["blur"]))
    assert all(ids["Ġblur"] not in row and ids["blur"] not in row for row in calls[0]["new"])
    assert all("blur" not in r.text.lower() for r in results)


CAPTION = {
    "type": "object",
    "properties": {"caption": {"type": "string", "maxLength": 60}},
    "required": ["caption"],
    "additionalProperties": False,
}
# keys that are banned words: the schema's own spelling must stay writable
DEGRADATION = {
    "type": "object",
    "properties": {
        "noise": {"enum": ["none", "mild", "severe"]},
        "blur": {"enum": ["none", "mild", "severe"]},
        "compression": {"enum": ["none", "mild", "severe"]},
        "caption": {"type": "string", "maxLength": 40},
    },
    "required": ["noise", "blur", "compression", "caption"],
    "additionalProperties": False,
}


def test_json_grammar_and_ban_both_apply(blurry_model, calls, ids, pictures):
    from rescap.backends.grammar import BatchJsonLogitsProcessor

    plain = GenerationParams(max_new_tokens=token_budget(CAPTION), json_schema=CAPTION)
    unbanned = blurry_model.generate(conversations(pictures, 3), plain)
    assert all("blurry" in json.loads(r.text)["caption"] for r in unbanned)

    banned = plain.model_copy(update={"banned_words": banned_words()})
    results = blurry_model.generate(conversations(pictures, 3), banned)
    kwargs = calls[-1]["kwargs"]
    assert kwargs["bad_words_ids"] and any(isinstance(p, BatchJsonLogitsProcessor) for p in kwargs["logits_processor"])
    for row, r in zip(calls[-1]["new"], results):
        jsonschema.validate(json.loads(r.text), CAPTION)
        assert not contains(row, [ids["Ġblur"], ids["ry"]]) and ids["Ġblur"] not in row
        assert "blur" not in r.text.lower()


def test_words_the_schema_spells_stay_allowed(blurry_model, calls, ids, pictures):
    params = GenerationParams(max_new_tokens=token_budget(DEGRADATION), json_schema=DEGRADATION, banned_words=banned_words())
    assert not {"noise", "Noise", "blur", "compression"} & set(params.word_bans())
    assert {"blurry", "Blurry", "noisy", "JPEG"} <= set(params.word_bans())
    results = blurry_model.generate(conversations(pictures, 3), params)
    for row, r in zip(calls[-1]["new"], results):
        answer = json.loads(r.text)
        jsonschema.validate(answer, DEGRADATION)
        assert "blurry" not in answer["caption"].lower()
        assert not contains(row, [ids["Ġblur"], ids["ry"]])


def test_sampling_with_bans(blurry_model, calls, ids, pictures):
    params = GenerationParams(max_new_tokens=12, temperature=1.0, seed=3, banned_words=["blurry", "blur"])
    blurry_model.generate(conversations(pictures), params)
    assert all(ids["Ġblur"] not in row for row in calls[0]["new"])


# -- openai: bad_words only when asked ---------------------------------------------------------------
@pytest.fixture
def server():
    s = ScriptedServer()
    yield s
    s.close()


def test_openai_sends_no_bad_words_by_default(server, pictures):
    backend = create_backend("openai:m", base_url=server.url)
    backend.generate(conversations(pictures, 1), GenerationParams(max_new_tokens=5, banned_words=banned_words()))
    assert "bad_words" not in server.requests[0]


@pytest.mark.parametrize("flag", [True, "true", "1"])
def test_openai_sends_bad_words_when_asked(server, pictures, flag):
    backend = create_backend("openai:m", base_url=server.url, send_banned_words=flag)
    params = GenerationParams(max_new_tokens=5, banned_words=["blurry", "JPEG"])
    backend.generate(conversations(pictures, 2), params)
    assert [r["bad_words"] for r in server.requests] == [["blurry", "Blurry", "JPEG", "jpeg", "Jpeg"]] * 2
    backend.generate(conversations(pictures, 1), GenerationParams(max_new_tokens=5))  # nothing to ban: no field
    assert "bad_words" not in server.requests[-1]


def test_openai_bad_words_leave_the_schema_words(server, pictures):
    backend = create_backend("openai:m", base_url=server.url, send_banned_words=True)
    backend.generate(conversations(pictures, 1), GenerationParams(max_new_tokens=50, json_schema=DEGRADATION, banned_words=banned_words()))
    sent = server.requests[0]["bad_words"]
    assert "blurry" in sent and "noise" not in sent and "blur" not in sent


def test_openai_flag_is_checked(server):
    from rescap.backends.base import BackendError

    with pytest.raises(BackendError, match="send_banned_words"):
        create_backend("openai:m", base_url=server.url, send_banned_words="maybe")
