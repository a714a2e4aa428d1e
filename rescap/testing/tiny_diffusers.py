"""Tiny random-weight diffusers pipelines of real architectures (as diffusers' own tests build
them): the 4x upscaler, img2img, and ControlNet (tile-style) img2img; and the multi-encoder
pipelines, SDXL img2img, SD3 img2img, FLUX img2img and FLUX ControlNet, whose tokenizers have the
released checkpoints' classes, special tokens and windows. Saved with ``save_pretrained`` and loaded
back through ``DiffusionPipeline.from_pretrained`` like any model.

Example:
    >>> import tempfile
    >>> from rescap.testing.tiny_diffusers import build_tiny_pipeline, build_tiny_sdxl_img2img
    >>> path = build_tiny_pipeline("img2img", tempfile.mkdtemp())  # doctest: +SKIP
    >>> path = build_tiny_sdxl_img2img(tempfile.mkdtemp())  # doctest: +SKIP
"""

from __future__ import annotations

import json
from functools import cache
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
    from ..torch_compat import ensure_torchvision_importable

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


# Multi-encoder pipelines (SDXL, SD3, FLUX): each text encoder has its own tokenizer and window, as
# in the released checkpoints, so code that fits text to ``tokenizer_N.model_max_length`` sees the
# real numbers: CLIP 77 everywhere, T5 256 (SD3) and 512 (FLUX).

# Caption-style English the tiny tokenizers learn, so ordinary words are one or two tokens.
_CAPTIONS = """\
A close-up photo of a young woman with long brown hair, smiling, soft natural light from a window.
An old man in a gray wool coat sits on a wooden bench in a city park, autumn leaves on the ground.
A golden retriever running across a green field on a sunny afternoon, its ears flying in the wind.
A tabby cat curled up asleep on a red blanket next to a stack of books.
A busy street at night in Tokyo, neon signs reflected on the wet pavement, people with umbrellas.
A small fishing boat on a calm lake at sunrise, mist over the water and pine trees on the shore.
A plate of pasta with tomato sauce and fresh basil on a white table, shallow depth of field.
A portrait of a child wearing a yellow raincoat, standing in front of a brick wall.
Snow-covered mountains under a clear blue sky, a narrow road winding through the valley below.
A red sports car parked outside a modern glass building, late evening, warm street lights.
Two people walking along a sandy beach at sunset, waves breaking gently behind them.
An aerial view of a river flowing through a dense forest, with fog rising from the trees.
A black and white photograph of a train station in the 1950s, travellers carrying suitcases.
A bowl of ripe strawberries, blueberries and sliced bananas on a kitchen counter.
A detailed macro shot of a bee collecting pollen from a purple flower, sharp focus on the wings.
A vintage bicycle leaning against a stone wall covered with ivy in a quiet village street.
A crowded market with fruit stalls, colourful awnings and shoppers bargaining with the sellers.
The interior of a cozy living room with a fireplace, a leather sofa and a large bookshelf.
A lighthouse on a rocky coast during a storm, dark clouds and huge waves crashing on the rocks.
A group of friends laughing around a campfire in the woods at night, sparks rising into the air.
A wide-angle landscape of rolling hills and vineyards in Tuscany, cypress trees along the road.
A herd of elephants walking across the dry savanna, dust in the golden evening light.
A man in a blue suit and tie giving a speech at a podium, microphone in front of him.
A little girl blowing out candles on a birthday cake, balloons and decorations in the background.
A steaming cup of coffee and a croissant on a marble table in a Paris cafe.
A medieval castle on a hill surrounded by green fields, a flag waving on the highest tower.
A skateboarder performing a trick in a concrete skate park, captured mid-air against the sky.
A close-up of an eye with green iris and long eyelashes, very fine detail in the skin texture.
A row of colourful wooden houses along a canal in Amsterdam, bicycles parked on the bridge.
An astronaut in a white space suit floating above the Earth, stars in the black sky.
A farmer driving an old tractor through a wheat field, a barn and silos in the distance.
A modern kitchen with stainless steel appliances, white cabinets and a bowl of green apples.
A dog wearing sunglasses sitting in the passenger seat of a convertible car.
A high-resolution photo of a city skyline at dusk, skyscrapers lit up, clouds glowing pink.
A woman reading a newspaper on a subway train, other passengers looking at their phones.
A plate of sushi with salmon, tuna and avocado rolls, chopsticks resting on the side.
A waterfall falling into a turquoise pool in a tropical jungle, ferns and moss on the rocks.
A soccer player kicking the ball during a match in a packed stadium, fans cheering.
A snowy street in winter with children building a snowman and throwing snowballs.
An owl perched on a branch at twilight, looking straight at the camera with yellow eyes.
A blurry, noisy, low-resolution photo of a person standing by a window, heavy JPEG artifacts.
A slightly out-of-focus snapshot of a birthday party, motion blur from people dancing.
A grainy old scan of a family portrait, faded colours, scratches and dust spots.
High quality, sharp, highly detailed, realistic photograph, natural colours, clean, 8k.
Blurry, noisy, oversmoothed, low quality, jpeg artifacts, deformed, watermark, cartoon, painting.
The sign on the shop reads OPEN in large white letters; the door is painted dark green.
She holds a bunch of sunflowers in her hands while her brother points at a passing airplane.
"""


_RESTORATION_WORDS = """\
Cinematic, high contrast, highly detailed, hyper detailed photo, realistic, maximum detail, ultra HD,
meticulous detailing, skin pore detail, sharpness, without deformations, professional photography,
film grain, bokeh, studio lighting, dramatic light, golden hour, overexposed, underexposed, low light,
painting, oil painting, illustration, CG style, 3D render, unreal engine, drawing, sketch, cartoon, anime,
dirty, messy, worst quality, low quality, frames, watermark, signature, jpeg artifacts, deformed,
lowres, over-smooth, oversaturated, noisy, blurry, grainy, pixelated, compressed, upscaled, restored.
"""

# Everyday English beyond the captions, so most words of a new caption are one token or two.
_COMMON_WORDS = """\
about above across after again against all almost alone along already also although always among
another any anyone anything anywhere around as away back because become been before began begin
behind being below beneath beside besides best better beyond both bring brought but by can could
did do does doing done down during each either else enough even ever every everyone everything
except far few first for from get gets getting give given go goes going gone good got great had
has have having he her here hers herself him himself his how however if into is it its itself
just keep kept kind know known last later least less let like likely little long look looking
looks made make makes making many may maybe me might more most much must my myself never next
nothing now off often once one only onto or other others our out outside own part perhaps place
quite rather really same see seen seems several shall she should show shown since so some someone
something sometimes soon still such than that their them themselves then there these they thing
things think this those though through throughout thus to together too toward towards two three
four five six seven eight nine ten hundred thousand until up upon us very was we well were what
when where whether which while who whole whom whose why will within without would yet you your
able across afraid alive angry asleep awake aware beautiful big bitter blind bold brave broad
broken busy calm careful cheap clean clear clever cold common complete correct crazy cruel curious
curly curved dangerous dead deep different difficult dirty distant double dull dusty early easy
empty equal exact excellent extra extreme fair false famous fancy fast fat fine flat fluffy foggy
foreign formal free fresh friendly front full funny gentle giant glad gorgeous graceful happy hard
healthy heavy helpful hidden high hollow honest hot huge hungry icy important innocent inner
interesting kind late lazy light lonely loose loud lovely low lucky main messy mighty modern narrow
natural neat nervous nice noble normal odd open ordinary pale perfect plain pleasant plastic polite
poor popular possible pretty private proud public pure quick quiet rare raw ready real rich rough
round royal rusty sad safe salty scary secret serious shallow shiny shy silent silly silver simple
single skinny sleepy slim slow smart smooth solid sour spicy square steep sticky straight strange
strong sudden sweet thick thin tight tiny tired tough ugly unusual upper useful vast vivid weak
wild wise wonderful worried wrong young accept add allow answer appear arrive ask become believe
belong bend blow boil break breathe build burn buy call carry catch change check choose climb close
collect come cook count cover crawl cross cry cut dance decide describe die dig dive draw dream
drink drive drop eat enjoy enter explain fall feed feel fight fill find finish fish fit fix float
fly fold follow forget glow grab grow hang happen hate hear help hide hit hold hope hug hunt hurry
imagine join jump kick kiss kneel knock laugh lay lead lean learn leave lie lift listen live lose
love marry meet melt move need notice offer open paint pass pay pick plant play point pour pray
prepare press pull push race rain reach read relax remember repair rest return ride ring rise run
rush say scream search sell send serve shake share shine shoot shout sing sink sit sleep slide
smell smile speak spend spin splash stand stare start stay steal step stick stop stretch study
swim swing talk taste teach tear tell throw touch travel try turn understand use visit wait wake
walk want wash watch wear win wish wonder work worry write yell animal apple army arm art aunt baby
bag ball band bank bar basket bath bed bee bell belt bird blade block board body bone book boot
bottle bowl box boy brain branch bread breakfast bridge brother brush bucket bug cake camera camp
candle cap card carpet castle chain chair cheese chest chicken church circle clock cloth clothes
coast coin collar corner cotton cow crowd crown cup curtain desert desk diamond dinner doll dragon
dream drum duck eagle ear earth egg engine evening eye family farm feather fence finger fire flag
floor fog food foot fork fountain fox friend frog fruit game garden gate gift girl glove goat gold
grandfather grandmother guitar gun hall hammer head heart helmet hole honey horn hospital hotel
island jacket jar jewel juice key king kitchen kite knee knife ladder lamp leg letter library lion
lip lock machine map market mask meat milk mirror money monkey moon mother mouse mouth music nail
neck needle nest net nose ocean office oil orange owl page palace pan paper park party pen pencil
piano picture pig pillow pipe pizza planet plate pocket pond pot potato queen rabbit rain ring robot
rope rose sail school scarf scissors sea seat sheep ship shoe shop shoulder sister skirt sky snake
sock soldier song soup space spoon spring square stair star station statue stone storm sugar
summer sun table tail teacher teeth tent theatre tiger toe tomato tongue tool tooth towel tower
town toy train tree truck tunnel umbrella uncle valley vase village violin wall watch wheel whale
window wing winter wire wolf world worm yard zoo camera lens focus exposure aperture shutter pixel
resolution photograph photography photographer colour color colours colors texture textures
extremely very quite nicely slightly heavily softly brightly clearly sharply gently beautifully
"""


def _caption_corpus() -> list[str]:
    """A few KB of caption-style English (plus restoration prompt words), repeated: the tiny
    tokenizers learn every word in it whole, and split other words into pieces."""
    from .tiny_vlm import _CORPUS_WORDS

    lines = _CAPTIONS.splitlines() + _RESTORATION_WORDS.splitlines() + _COMMON_WORDS.splitlines()
    lines.append(" ".join(_CORPUS_WORDS))
    return lines * 8


def _words(lines: list[str], normalizer, pre_tokenizer) -> dict[str, int]:
    from collections import Counter

    counts: Counter[str] = Counter()
    for line in lines:
        text = normalizer.normalize_str(line) if normalizer is not None else line
        counts.update(piece for piece, _ in pre_tokenizer.pre_tokenize_str(text))
    return counts


@cache
def _clip_bpe(vocab_size: int) -> tuple[tuple[tuple[str, int], ...], tuple[tuple[str, str], ...]]:
    """CLIP's BPE (lower-cased, byte-level, ``</w>`` on every word's last symbol) trained on the
    caption corpus. The trainer sees each word's last byte as a symbol of its own (a private-use
    character standing for ``byte</w>``), which it learns exactly as CLIP's word-final symbols and,
    unlike the trainer's ``end_of_word_suffix``, the same way on every run."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    clip = _clip_backend()
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    final = {c: chr(0xE000 + i) for i, c in enumerate(alphabet)}
    back = {f: c + "</w>" for c, f in final.items()}
    counts = _words(_caption_corpus(), clip.normalizer, clip.pre_tokenizer)
    words = [w[:-1] + final[w[-1]] for w in sorted(counts) for _ in range(counts[w])]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=list(_CLIP_SPECIALS), initial_alphabet=alphabet + list(back),
        show_progress=False,
    )  # fmt: skip
    tok.train_from_iterator([" ".join(words[i : i + 64]) for i in range(0, len(words), 64)], trainer=trainer)

    def plain(token: str) -> str:
        return token[:-1] + back[token[-1]] if token and token[-1] in back else token

    model = json.loads(tok.to_str())["model"]
    vocab = tuple(sorted(((plain(t), i) for t, i in model["vocab"].items()), key=lambda item: item[1]))
    merges = tuple(tuple(plain(part) for part in (m.split(" ") if isinstance(m, str) else m)) for m in model["merges"])
    return vocab, merges  # type: ignore[return-value]


_CLIP_SPECIALS = ("<|startoftext|>", "<|endoftext|>")


def _clip_backend():
    from transformers import CLIPTokenizer

    return CLIPTokenizer().backend_tokenizer


def _clip_tokenizer(pad_token: str = "<|endoftext|>", vocab_size: int = 3000):
    """A real ``CLIPTokenizer`` (lower-cased byte-level BPE with ``</w>`` word ends; ``<|startoftext|>``
    and ``<|endoftext|>`` around every text; window 77) with a vocabulary trained here."""
    from transformers import CLIPTokenizer

    vocab, merges = _clip_bpe(vocab_size)
    bos, eos = _CLIP_SPECIALS
    return CLIPTokenizer(
        vocab=dict(vocab), merges=list(merges), bos_token=bos, eos_token=eos, unk_token=eos, pad_token=pad_token,
        model_max_length=77,
    )  # fmt: skip


_T5_SPECIALS = ("<pad>", "</s>", "<unk>")


@cache
def _t5_unigram(vocab_size: int) -> tuple[tuple[str, float], ...]:
    """A SentencePiece-style Unigram vocabulary (case kept, ``▁`` marking a word start): every word
    of the caption corpus, every character, and the corpus' most frequent word pieces, each scored
    by its log frequency; built directly, so the same on every run."""
    import math
    import re
    from collections import Counter

    counts = Counter()
    for line in _caption_corpus():
        for word in line.split():
            for k, part in enumerate(re.findall(r"[^\W\d_]+|\d|[^\w\s]|_", word)):
                counts["▁" + part if k == 0 else part] += 1
    pieces: Counter[str] = Counter()
    for word, n in counts.items():
        for i in range(len(word)):
            for j in range(i + 1, min(len(word), i + 12) + 1):
                pieces[word[i:j]] += n
    for char in map(chr, range(33, 127)):  # every printable ASCII character, as T5's vocabulary has
        pieces[char] += 1
    keep = {p for p in pieces if len(p) == 1 or p in counts}
    rest = sorted((p for p in pieces if p not in keep), key=lambda p: (-pieces[p] * len(p), p))
    keep.update(rest[: max(0, vocab_size - len(_T5_SPECIALS) - len(keep))])
    total = sum(pieces[p] for p in keep)
    scored = sorted(((p, round(math.log(pieces[p] / total), 4)) for p in keep), key=lambda item: (-item[1], item[0]))
    return tuple((s, 0.0) for s in _T5_SPECIALS) + tuple(scored)


def _t5_tokenizer(model_max_length: int, vocab_size: int = 2000):
    """A real ``T5Tokenizer`` (Unigram over ``▁``-marked words, ``</s>`` after every text; ``<pad>`` 0,
    ``</s>`` 1, ``<unk>`` 2; 100 ``<extra_id_N>`` sentinels) over the caption vocabulary."""
    from transformers import T5Tokenizer

    return T5Tokenizer(vocab=list(_t5_unigram(vocab_size)), model_max_length=model_max_length)


def _clip_encoder(tokenizer, seed: int, projection: bool, hidden_act: str = "quick_gelu"):
    """CLIP-L by default; ``hidden_act="gelu"`` as OpenCLIP bigG / CLIP-G have it."""
    import torch
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    torch.manual_seed(seed)
    config = CLIPTextConfig(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
        hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2, vocab_size=len(tokenizer),
        max_position_embeddings=77, projection_dim=32, hidden_act=hidden_act,
    )  # fmt: skip
    return (CLIPTextModelWithProjection if projection else CLIPTextModel)(config).eval()


def _t5_encoder(tokenizer, seed: int, d_model: int = 64):
    import torch
    from transformers import T5Config, T5EncoderModel

    torch.manual_seed(seed)
    config = T5Config(
        vocab_size=len(tokenizer), d_model=d_model, d_kv=16, d_ff=64, num_layers=2, num_heads=4,
        relative_attention_num_buckets=8, feed_forward_proj="gated-gelu", is_encoder_decoder=False,
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, decoder_start_token_id=tokenizer.pad_token_id,
    )  # fmt: skip
    return T5EncoderModel(config).eval()


def _flow_vae(seed: int, latent_channels: int = 4):
    """SD3/FLUX-style VAE: no quant convs, a shift as well as a scale on the latents."""
    import torch
    from diffusers import AutoencoderKL

    torch.manual_seed(seed)
    return AutoencoderKL(
        block_out_channels=[32, 32], in_channels=3, out_channels=3, down_block_types=["DownEncoderBlock2D"] * 2,
        up_block_types=["UpDecoderBlock2D"] * 2, latent_channels=latent_channels, norm_num_groups=16, layers_per_block=1,
        use_quant_conv=False, use_post_quant_conv=False, shift_factor=0.0609, scaling_factor=1.5035,
    )  # fmt: skip


def _save(pipe, path: str | Path) -> Path:
    path = Path(path)
    pipe.save_pretrained(path)
    return path


def build_tiny_sdxl_img2img(path: str | Path, seed: int = 0) -> Path:
    """Build and save a tiny ``StableDiffusionXLImg2ImgPipeline``.

    ``tokenizer``/``text_encoder`` (``CLIPTextModel``, SDXL's CLIP-L) take ``prompt``;
    ``tokenizer_2``/``text_encoder_2`` (``CLIPTextModelWithProjection``, SDXL's OpenCLIP bigG, whose
    tokenizer pads with ``!`` as the released one does) take ``prompt_2``. Both windows are 77.

    Example:
        >>> import tempfile
        >>> from rescap.testing.tiny_diffusers import build_tiny_sdxl_img2img
        >>> path = build_tiny_sdxl_img2img(tempfile.mkdtemp())  # doctest: +SKIP
    """
    from ..torch_compat import ensure_torchvision_importable

    ensure_torchvision_importable()
    import torch
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLImg2ImgPipeline, UNet2DConditionModel

    tokenizer, tokenizer_2 = _clip_tokenizer(), _clip_tokenizer(pad_token="!")
    text_encoder = _clip_encoder(tokenizer, seed, projection=False)
    text_encoder_2 = _clip_encoder(tokenizer_2, seed + 1, projection=True, hidden_act="gelu")
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=32, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4), use_linear_projection=True, norm_num_groups=32,
        cross_attention_dim=text_encoder.config.hidden_size + text_encoder_2.config.hidden_size,
        addition_embed_type="text_time", addition_time_embed_dim=8,
        # img2img without an aesthetic score: 6 time ids (original size, crop, target size) + the pooled text
        projection_class_embeddings_input_dim=6 * 8 + text_encoder_2.config.projection_dim,
    )  # fmt: skip
    pipe = StableDiffusionXLImg2ImgPipeline(
        vae=_vae(seed), text_encoder=text_encoder, text_encoder_2=text_encoder_2, tokenizer=tokenizer,
        tokenizer_2=tokenizer_2, unet=unet, scheduler=EulerDiscreteScheduler(steps_offset=1, timestep_spacing="leading"),
        requires_aesthetics_score=False, force_zeros_for_empty_prompt=True,
    )  # fmt: skip
    return _save(pipe, path)


def build_tiny_sd3_img2img(path: str | Path, seed: int = 0) -> Path:
    """Build and save a tiny ``StableDiffusion3Img2ImgPipeline``.

    ``prompt`` goes to ``tokenizer``/``text_encoder`` (CLIP-L, 77), ``prompt_2`` to
    ``tokenizer_2``/``text_encoder_2`` (CLIP-G, 77; pads with ``!``), ``prompt_3`` to
    ``tokenizer_3``/``text_encoder_3`` (``T5EncoderModel``; ``model_max_length`` 256, the pipeline's
    ``max_sequence_length`` default). Transformer: ``SD3Transformer2DModel``; scheduler:
    ``FlowMatchEulerDiscreteScheduler``.

    Example:
        >>> import tempfile
        >>> from rescap.testing.tiny_diffusers import build_tiny_sd3_img2img
        >>> path = build_tiny_sd3_img2img(tempfile.mkdtemp())  # doctest: +SKIP
    """
    from ..torch_compat import ensure_torchvision_importable

    ensure_torchvision_importable()
    import torch
    from diffusers import (
        FlowMatchEulerDiscreteScheduler,
        SD3Transformer2DModel,
        StableDiffusion3Img2ImgPipeline,
    )

    tokenizer, tokenizer_2, tokenizer_3 = _clip_tokenizer(), _clip_tokenizer(pad_token="!"), _t5_tokenizer(256)
    text_encoder = _clip_encoder(tokenizer, seed, projection=True)
    text_encoder_2 = _clip_encoder(tokenizer_2, seed + 1, projection=True, hidden_act="gelu")
    text_encoder_3 = _t5_encoder(tokenizer_3, seed + 2)
    vae = _flow_vae(seed)
    torch.manual_seed(seed)
    transformer = SD3Transformer2DModel(
        sample_size=32, patch_size=2, in_channels=vae.config.latent_channels, out_channels=vae.config.latent_channels,
        num_layers=1, attention_head_dim=8, num_attention_heads=4, caption_projection_dim=32,
        # CLIP-L and CLIP-G hidden states side by side, zero-padded to T5's width, then T5's tokens
        joint_attention_dim=text_encoder_3.config.d_model,
        pooled_projection_dim=text_encoder.config.projection_dim + text_encoder_2.config.projection_dim,
        pos_embed_max_size=64,  # images up to 256 px
    )  # fmt: skip
    pipe = StableDiffusion3Img2ImgPipeline(
        transformer=transformer, scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0), vae=vae,
        text_encoder=text_encoder, tokenizer=tokenizer, text_encoder_2=text_encoder_2, tokenizer_2=tokenizer_2,
        text_encoder_3=text_encoder_3, tokenizer_3=tokenizer_3,
    )  # fmt: skip
    return _save(pipe, path)


def _flux_parts(seed: int) -> dict:
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, FluxTransformer2DModel

    tokenizer, tokenizer_2 = _clip_tokenizer(), _t5_tokenizer(512)
    text_encoder = _clip_encoder(tokenizer, seed, projection=False)
    text_encoder_2 = _t5_encoder(tokenizer_2, seed + 1)
    vae = _flow_vae(seed)
    torch.manual_seed(seed)
    transformer = FluxTransformer2DModel(
        patch_size=1, in_channels=4 * vae.config.latent_channels,  # latents packed 2x2
        num_layers=1, num_single_layers=1, attention_head_dim=16, num_attention_heads=2,
        joint_attention_dim=text_encoder_2.config.d_model, pooled_projection_dim=text_encoder.config.hidden_size,
        guidance_embeds=True, axes_dims_rope=(4, 6, 6),
    )  # fmt: skip
    scheduler = FlowMatchEulerDiscreteScheduler(
        shift=3.0, use_dynamic_shifting=True, base_shift=0.5, max_shift=1.15, base_image_seq_len=256, max_image_seq_len=4096
    )  # fmt: skip
    return {
        "scheduler": scheduler, "vae": vae, "text_encoder": text_encoder, "tokenizer": tokenizer,
        "text_encoder_2": text_encoder_2, "tokenizer_2": tokenizer_2, "transformer": transformer,
    }  # fmt: skip


def build_tiny_flux_img2img(path: str | Path, seed: int = 0) -> Path:
    """Build and save a tiny ``FluxImg2ImgPipeline`` (FLUX.1-dev layout, guidance embedded).

    ``prompt`` goes to ``tokenizer``/``text_encoder`` (``CLIPTextModel``, 77; only its pooled output is
    used), ``prompt_2`` to ``tokenizer_2``/``text_encoder_2`` (``T5EncoderModel``; ``model_max_length``
    512, the pipeline's ``max_sequence_length`` default). ``negative_prompt`` is only encoded when
    ``true_cfg_scale > 1``.

    Example:
        >>> import tempfile
        >>> from rescap.testing.tiny_diffusers import build_tiny_flux_img2img
        >>> path = build_tiny_flux_img2img(tempfile.mkdtemp())  # doctest: +SKIP
    """
    from ..torch_compat import ensure_torchvision_importable

    ensure_torchvision_importable()
    from diffusers import FluxImg2ImgPipeline

    return _save(FluxImg2ImgPipeline(**_flux_parts(seed)), path)


def build_tiny_flux_controlnet(path: str | Path, seed: int = 0, img2img: bool = False) -> Path:
    """Build and save a tiny ``FluxControlNetPipeline`` (or, with ``img2img``,
    ``FluxControlNetImg2ImgPipeline``) with a ``FluxControlNetModel`` that takes the VAE-encoded
    control image, as the FLUX.1-dev ControlNet upscaler does. Text encoders as in
    :func:`build_tiny_flux_img2img`.

    Example:
        >>> import tempfile
        >>> from rescap.testing.tiny_diffusers import build_tiny_flux_controlnet
        >>> path = build_tiny_flux_controlnet(tempfile.mkdtemp())  # doctest: +SKIP
    """
    from ..torch_compat import ensure_torchvision_importable

    ensure_torchvision_importable()
    import torch
    from diffusers import FluxControlNetImg2ImgPipeline, FluxControlNetModel, FluxControlNetPipeline

    parts = _flux_parts(seed)
    config = parts["transformer"].config
    torch.manual_seed(seed + 3)
    controlnet = FluxControlNetModel(
        patch_size=config.patch_size, in_channels=config.in_channels, num_layers=1, num_single_layers=1,
        attention_head_dim=config.attention_head_dim, num_attention_heads=config.num_attention_heads,
        joint_attention_dim=config.joint_attention_dim, pooled_projection_dim=config.pooled_projection_dim,
        guidance_embeds=config.guidance_embeds, axes_dims_rope=list(config.axes_dims_rope),
    )  # fmt: skip
    cls = FluxControlNetImg2ImgPipeline if img2img else FluxControlNetPipeline
    return _save(cls(controlnet=controlnet, **parts), path)


MULTI_ENCODER_PIPELINES = {
    "sdxl_img2img": build_tiny_sdxl_img2img,
    "sd3_img2img": build_tiny_sd3_img2img,
    "flux_img2img": build_tiny_flux_img2img,
    "flux_controlnet": build_tiny_flux_controlnet,
}
