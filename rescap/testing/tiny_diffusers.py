"""Tiny random-weight diffusers pipelines of real architectures (as diffusers' own tests build
them): the 4x upscaler, img2img, and ControlNet (tile-style) img2img. Saved with
``save_pretrained`` and loaded back through ``DiffusionPipeline.from_pretrained`` like any model.

Example:
    >>> import tempfile
    >>> from rescap.testing.tiny_diffusers import build_tiny_pipeline
    >>> path = build_tiny_pipeline("img2img", tempfile.mkdtemp())  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

PIPELINES = ("upscale", "img2img", "controlnet")


def _text_parts(seed: int):
    import torch
    from transformers import CLIPTextConfig, CLIPTextModel

    from .tiny_vlm import _train_tokenizer

    tokenizer = _train_tokenizer(["<|startoftext|>", "<|endoftext|>"], vocab_size=1000)
    tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token = "<|startoftext|>", "<|endoftext|>", "<|endoftext|>"
    tokenizer.model_max_length = 77
    torch.manual_seed(seed)
    config = CLIPTextConfig(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
        hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2, vocab_size=len(tokenizer),
        max_position_embeddings=77,
    )  # fmt: skip
    return tokenizer, CLIPTextModel(config).eval()


def _unet(seed: int, in_channels: int = 4, **extra):
    import torch
    from diffusers import UNet2DConditionModel

    torch.manual_seed(seed)
    return UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=2, sample_size=32, in_channels=in_channels, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32, norm_num_groups=32, **extra,
    )  # fmt: skip


def _vae(seed: int, upscaler: bool = False):
    import torch
    from diffusers import AutoencoderKL

    torch.manual_seed(seed)
    if upscaler:  # the x4 upscaler's VAE decodes at the latent size's 4x through 2 blocks
        return AutoencoderKL(
            block_out_channels=[32, 32, 64], in_channels=3, out_channels=3,
            down_block_types=["DownEncoderBlock2D"] * 3, up_block_types=["UpDecoderBlock2D"] * 3, latent_channels=4,
        )  # fmt: skip
    return AutoencoderKL(
        block_out_channels=[32, 64], in_channels=3, out_channels=3, down_block_types=["DownEncoderBlock2D"] * 2,
        up_block_types=["UpDecoderBlock2D"] * 2, latent_channels=4, norm_num_groups=32,
    )  # fmt: skip


def build_tiny_pipeline(kind: str, path: str | Path, seed: int = 0) -> Path:
    """Build and save a tiny pipeline: ``upscale``, ``img2img`` or ``controlnet``."""
    from ..backends.torch_compat import ensure_torchvision_importable

    ensure_torchvision_importable()
    from diffusers import DDIMScheduler, DDPMScheduler

    path = Path(path)
    tokenizer, text_encoder = _text_parts(seed)
    if kind == "upscale":
        from diffusers import StableDiffusionUpscalePipeline

        pipe = StableDiffusionUpscalePipeline(
            vae=_vae(seed, upscaler=True), text_encoder=text_encoder, tokenizer=tokenizer,
            unet=_unet(seed, in_channels=7, attention_head_dim=8, class_embed_type="timestep", num_class_embeds=1000),
            low_res_scheduler=DDPMScheduler(), scheduler=DDIMScheduler(prediction_type="v_prediction", steps_offset=1, clip_sample=False), max_noise_level=350,
        )  # fmt: skip
    elif kind == "img2img":
        from diffusers import StableDiffusionImg2ImgPipeline

        pipe = StableDiffusionImg2ImgPipeline(
            vae=_vae(seed), text_encoder=text_encoder, tokenizer=tokenizer, unet=_unet(seed), scheduler=DDIMScheduler(steps_offset=1, clip_sample=False),
            safety_checker=None, feature_extractor=None, requires_safety_checker=False,
        )  # fmt: skip
    elif kind == "controlnet":
        import torch
        from diffusers import ControlNetModel, StableDiffusionControlNetImg2ImgPipeline

        torch.manual_seed(seed)
        controlnet = ControlNetModel(
            block_out_channels=(32, 64), layers_per_block=2, in_channels=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            cross_attention_dim=32, conditioning_embedding_out_channels=(16, 32), norm_num_groups=32,
        )  # fmt: skip
        pipe = StableDiffusionControlNetImg2ImgPipeline(
            vae=_vae(seed), text_encoder=text_encoder, tokenizer=tokenizer, unet=_unet(seed), controlnet=controlnet,
            scheduler=DDIMScheduler(steps_offset=1, clip_sample=False), safety_checker=None, feature_extractor=None, requires_safety_checker=False,
        )  # fmt: skip
    else:
        raise ValueError(f"unknown pipeline {kind!r}; choose from {', '.join(PIPELINES)}")
    pipe.save_pretrained(path)
    return path
