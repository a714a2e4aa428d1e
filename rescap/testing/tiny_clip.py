"""A tiny random-weight CLIP (transformers ``CLIPModel``), saved with its tokenizer and image
processor, for tests of relevance scoring. Scores from it are noise; the code path is real.

Example:
    >>> import tempfile
    >>> from rescap.testing.tiny_clip import build_tiny_clip
    >>> path = build_tiny_clip(tempfile.mkdtemp())  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from .tiny_vlm import _train_tokenizer


def build_tiny_clip(path: str | Path, seed: int = 0) -> Path:
    from ..torch_compat import ensure_torchvision_importable

    ensure_torchvision_importable()
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel
    path = Path(path)
    tokenizer = _train_tokenizer(["<|startoftext|>", "<|endoftext|>"], vocab_size=400)
    tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token = "<|startoftext|>", "<|endoftext|>", "<|endoftext|>"
    tokenizer.model_max_length = 77
    image_processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    config = CLIPConfig(
        text_config={"vocab_size": len(tokenizer), "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                     "num_attention_heads": 2, "max_position_embeddings": 77,
                     "bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id,
                     "pad_token_id": tokenizer.pad_token_id},
        vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
                       "image_size": 32, "patch_size": 8},
        projection_dim=16,
    )  # fmt: skip
    torch.manual_seed(seed)
    CLIPModel(config).eval().save_pretrained(path)
    tokenizer.save_pretrained(path)
    image_processor.save_pretrained(path)
    return path
