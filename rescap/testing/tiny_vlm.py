"""Tiny random-weight vision-language models of real architectures, built locally in a second.

They load through exactly the code a user's model goes through (``AutoProcessor``,
``AutoModelForImageTextToText``, vLLM), so tests exercise real preprocessing, chat templates,
batching and constrained decoding, without any download. Their text is noise: anything that must
parse has to come from constrained decoding.

Example:
    >>> import tempfile
    >>> from rescap.testing.tiny_vlm import build_tiny_vlm
    >>> path = build_tiny_vlm("idefics3", tempfile.mkdtemp())  # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path

ARCHITECTURES = ("qwen2_vl", "idefics3")

# Words and punctuation the tiny tokenizer learns: caption-like English and JSON.
_CORPUS_WORDS = (
    "a an the of in on with and at near under over between behind front left right top bottom "
    "photo image picture scene view close up wide shot portrait landscape street city building house "
    "window door roof wall brick stone wood metal glass sky cloud sun light shadow tree trees leaf "
    "leaves grass flower flowers field forest mountain hill river lake sea water wave beach sand rock "
    "road car bus bike person people man woman child face hair eyes hand hands dog cat bird horse "
    "fur feather fabric shirt dress coat hat red green blue yellow white black gray brown orange "
    "purple pink dark bright soft sharp detailed texture pattern old new small large tall short "
    "wooden stone metallic glossy matte wet dry warm cool sunny cloudy evening morning night day "
    "noise blur jpeg compression degradation severe moderate mild none level sigma quality scale "
    "subject subjects region regions category benefits insensitive harmed detail caption text "
    "true false null yes no"
).split()
_JSON_SNIPPETS = ('{"', '": "', '", "', '"}', '": [', '], "', "[", "]", "{", "}", ":", ",", '"', "0", "1", "2",
                  "3", "4", "5", "6", "7", "8", "9", ".", "-", " ")  # fmt: skip


def _corpus() -> list[str]:
    """Caption-like English, JSON, and rescap's own prompt templates: the tiny tokenizer then
    spends about as many tokens per word on rescap's prompts as a real one (~1.3), so sequence
    lengths, and batching costs, are realistic."""
    from importlib import resources

    words = _CORPUS_WORDS
    lines = []
    for entry in resources.files("rescap.prompts").iterdir():
        if entry.name.endswith(".j2"):
            lines.extend(entry.read_text(encoding="utf-8").splitlines() * 20)
    for i in range(400):
        chunk = [words[(i * 7 + j * 13) % len(words)] for j in range(12)]
        lines.append(" ".join(chunk) + ".")
        lines.append('{"caption": "' + " ".join(chunk[:6]) + '", "level": "' + chunk[6] + '", "n": ' + str(i) + "}")
    lines.append(" ".join(_JSON_SNIPPETS))
    return lines


def _train_tokenizer(special_tokens: list[str], vocab_size: int = 2000):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=special_tokens,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(), trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok)


QWEN_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] in ('image', 'image_url') %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

IDEFICS3_CHAT_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{ message['role'] | capitalize }}:"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] in ('image', 'image_url') %}<image>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<end_of_utterance>\n{% endfor %}"
    "{% if add_generation_prompt %}Assistant:{% endif %}"
)


def build_tiny_qwen2_vl(path: str | Path, seed: int = 0) -> Path:
    """A 2-layer Qwen2-VL (text heads 32 wide, as vLLM's CPU attention needs) with its processor."""
    from ..torch_compat import ensure_torchvision_importable

    ensure_torchvision_importable()
    import torch
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration, Qwen2VLProcessor
    from transformers.models.qwen2_vl.image_processing_qwen2_vl import Qwen2VLImageProcessor
    from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

    path = Path(path)
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                "<|image_pad|>", "<|video_pad|>"]  # fmt: skip
    tokenizer = _train_tokenizer(specials)
    tokenizer.eos_token, tokenizer.pad_token = "<|im_end|>", "<|endoftext|>"
    tokenizer.padding_side = "left"
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in specials}
    image_processor = Qwen2VLImageProcessor(
        min_pixels=28 * 28 * 4, max_pixels=28 * 28 * 16, patch_size=14, merge_size=2, temporal_patch_size=2
    )
    processor = Qwen2VLProcessor(
        image_processor=image_processor, tokenizer=tokenizer, video_processor=Qwen2VLVideoProcessor(),
        chat_template=QWEN_CHAT_TEMPLATE,
    )  # fmt: skip
    config = Qwen2VLConfig(
        text_config={
            "vocab_size": len(tokenizer), "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
            "num_attention_heads": 2, "num_key_value_heads": 2, "max_position_embeddings": 2048,
            "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [4, 6, 6]},
            "bos_token_id": ids["<|endoftext|>"], "eos_token_id": ids["<|im_end|>"], "pad_token_id": ids["<|endoftext|>"],
        },
        vision_config={"depth": 2, "embed_dim": 32, "hidden_size": 64, "num_heads": 2, "mlp_ratio": 2,
                       "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2},
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=False,
    )  # fmt: skip
    torch.manual_seed(seed)
    model = Qwen2VLForConditionalGeneration(config).eval()
    model.generation_config.eos_token_id = [ids["<|im_end|>"], ids["<|endoftext|>"]]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path


def build_tiny_idefics3(path: str | Path, seed: int = 0) -> Path:
    """A 2-layer Idefics3 (the SmolVLM architecture) with a tiny SigLIP tower and its processor."""
    import torch
    from transformers import Idefics3Config, Idefics3ForConditionalGeneration, Idefics3ImageProcessor, Idefics3Processor

    path = Path(path)
    specials = ["<|endoftext|>", "<|im_start|>", "<end_of_utterance>", "<fake_token_around_image>", "<image>",
                "<global-img>"]  # fmt: skip
    tokenizer = _train_tokenizer(specials)
    tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token = "<|im_start|>", "<end_of_utterance>", "<|endoftext|>"
    tokenizer.padding_side = "left"
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in specials}
    image_size, patch_size, scale_factor = 32, 8, 2
    image_seq_len = (image_size // patch_size) ** 2 // scale_factor**2
    image_processor = Idefics3ImageProcessor(
        size={"longest_edge": image_size}, max_image_size={"longest_edge": image_size}, do_image_splitting=False
    )
    processor = Idefics3Processor(
        image_processor=image_processor, tokenizer=tokenizer, image_seq_len=image_seq_len,
        chat_template=IDEFICS3_CHAT_TEMPLATE,
    )  # fmt: skip
    config = Idefics3Config(
        text_config={
            "model_type": "llama", "vocab_size": len(tokenizer), "hidden_size": 64, "intermediate_size": 128,
            "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 2,
            "max_position_embeddings": 2048, "bos_token_id": ids["<|im_start|>"],
            "eos_token_id": ids["<end_of_utterance>"], "pad_token_id": ids["<|endoftext|>"],
        },
        vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
                       "image_size": image_size, "patch_size": patch_size},
        scale_factor=scale_factor, image_token_id=ids["<image>"], tie_word_embeddings=False,
    )  # fmt: skip
    torch.manual_seed(seed)
    model = Idefics3ForConditionalGeneration(config).eval()
    model.generation_config.eos_token_id = [ids["<end_of_utterance>"]]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.generation_config.bos_token_id = ids["<|im_start|>"]
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path


_BUILDERS = {"qwen2_vl": build_tiny_qwen2_vl, "idefics3": build_tiny_idefics3}


def build_tiny_vlm(architecture: str, path: str | Path, seed: int = 0) -> Path:
    """Build and save a tiny model of ``architecture`` (one of ``ARCHITECTURES``) under ``path``."""
    if architecture not in _BUILDERS:
        raise ValueError(f"unknown architecture {architecture!r}; choose from {', '.join(ARCHITECTURES)}")
    from ..torch_compat import ensure_torchvision_importable

    ensure_torchvision_importable()  # before transformers is imported
    out = _BUILDERS[architecture](path, seed=seed)
    (Path(out) / "rescap_tiny.json").write_text(json.dumps({"architecture": architecture, "seed": seed}))
    return Path(out)
