"""``rescap.wrap``: give any restorer rescap's prompts for the image it is called on.

Example:
    >>> import rescap
    >>> from diffusers import StableDiffusionUpscalePipeline  # doctest: +SKIP
    >>> pipe = StableDiffusionUpscalePipeline.from_pretrained("stabilityai/stable-diffusion-x4-upscaler")  # doctest: +SKIP
    >>> pipe = rescap.wrap(pipe, captioner="transformers:/models/smolvlm")  # doctest: +SKIP
    >>> restored = pipe(image=low_res, prompt="a portrait").images[0]  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any, Callable

from .captioning.bundle import CaptionFailure, PromptBundle
from .captioning.captioner import CaptionError, Captioner


class WrappedRestorer:
    """Calls ``restorer`` with prompts made for the image it is given; everything else passes through.

    ``last_bundles`` holds the bundles of the latest call. Attribute access falls through to the
    wrapped object, so a wrapped pipeline still has ``.to()``, ``.scheduler`` and so on.
    """

    def __init__(
        self,
        restorer: Callable[..., Any],
        captioner: Captioner,
        adapter: Any,
        prompt_arg: str,
        negative_arg: str | None,
        image_arg: str,
        hook: Callable[[PromptBundle], PromptBundle | None] | None,
    ):
        self.restorer = restorer
        self.captioner = captioner
        self.adapter = adapter
        self.prompt_arg, self.negative_arg, self.image_arg = prompt_arg, negative_arg, image_arg
        self.hook = hook
        self.last_bundles: list[PromptBundle] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.restorer, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        image = kwargs.get(self.image_arg)
        positional = image is None and len(args) > 0
        if positional:
            image = args[0]
        if image is None:
            return self.restorer(*args, **kwargs)
        batch = isinstance(image, (list, tuple))
        images = list(image) if batch else [image]
        bundles = []
        for result in self.captioner.caption_batch(images):
            if isinstance(result, CaptionFailure):
                raise CaptionError(result)
            if self.hook is not None:
                changed = self.hook(result)
                result = changed if changed is not None else result
            bundles.append(result)
        self.last_bundles = bundles
        user_prompts = _per_image(kwargs.get(self.prompt_arg), len(images))
        user_negatives = _per_image(kwargs.get(self.negative_arg), len(images)) if self.negative_arg else [None] * len(images)
        finals = [self.adapter.final_prompts(b, p, n) for b, p, n in zip(bundles, user_prompts, user_negatives)]
        kwargs[self.prompt_arg] = [f.positive for f in finals] if batch else finals[0].positive
        for slot in self.adapter.slots[1:]:  # prompt_2, prompt_3: each fitted to its own encoder
            if self.prompt_arg == "prompt" and slot.argument not in kwargs:
                texts = [f.extra.get(slot.argument, f.positive) for f in finals]
                kwargs[slot.argument] = texts if batch else texts[0]
        if self.negative_arg:
            kwargs[self.negative_arg] = [f.negative for f in finals] if batch else finals[0].negative
        return self.restorer(*args, **kwargs)


def _per_image(value: Any, n: int) -> list[Any]:
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"got {len(value)} prompts for {n} images")
        return list(value)
    return [value] * n


def wrap(
    restorer: Callable[..., Any],
    prompt_arg: str = "prompt",
    negative_arg: str | None = "negative_prompt",
    image_arg: str = "image",
    *,
    captioner: Captioner | str | None = "transformers:",
    adapter: Any = None,
    hook: Callable[[PromptBundle], PromptBundle | None] | None = None,
    **captioner_options: Any,
) -> WrappedRestorer:
    """Wrap a diffusers pipeline or any callable so each call gets rescap's prompts for its image.

    - ``prompt_arg``/``negative_arg``/``image_arg`` name the restorer's arguments.
    - ``captioner``: a ``Captioner``, a VLM model string (default: the default CPU model), or
      ``None`` for no VLM (degradation-only prompts), as ``Captioner(None)`` means.
      ``captioner_options`` go to the ``Captioner`` built here (``richness`` policy, ``relevance``...).
    - ``adapter``: a ``RestorerAdapter`` or its name; by default the diffusers adapter, which counts
      tokens with the pipeline's own tokenizer when it has one.
    - A prompt the caller passes is merged with the caption (it goes first), never dropped; a
      negative prompt likewise. ``hook(bundle)`` sees each bundle before the call and may return a
      changed one.
    """
    from .adapters import get_adapter

    if adapter is None or isinstance(adapter, str):
        adapter = get_adapter(adapter or "diffusers")
    if hasattr(adapter, "use_pipeline"):
        adapter.use_pipeline(restorer)  # the pipeline's own tokenizers and windows, one slot per text argument
    if not isinstance(captioner, Captioner):
        options = {"restorer": adapter, **captioner_options}
        captioner = Captioner(captioner, **options)
    return WrappedRestorer(restorer, captioner, adapter, prompt_arg, negative_arg, image_arg, hook)
