"""``rescap.wrap``: give any restorer rescap's prompts for the image it is called on.

Example:
    >>> import rescap
    >>> from diffusers import StableDiffusionUpscalePipeline  # doctest: +SKIP
    >>> pipe = StableDiffusionUpscalePipeline.from_pretrained("stabilityai/stable-diffusion-x4-upscaler")  # doctest: +SKIP
    >>> pipe = rescap.wrap(pipe, captioner="transformers:/models/smolvlm")  # doctest: +SKIP
    >>> restored = pipe(image=low_res, prompt="a portrait").images[0]  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
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
        call = _Call(self.restorer, args, kwargs)
        image = call.get(self.image_arg)
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
        user_prompts = _per_image(call.get(self.prompt_arg), len(images))
        user_negatives = _per_image(call.get(self.negative_arg), len(images)) if self.negative_arg else [None] * len(images)
        finals = [self.adapter.final_prompts(b, p, n) for b, p, n in zip(bundles, user_prompts, user_negatives)]
        # what the restorer receives, in the bundles too (the user's prompt merged, every slot)
        self.last_bundles = [
            b.model_copy(update={
                "positive_prompt": f.positive, "negative_prompt": f.negative,
                "slot_prompts": {t.argument: t.text for t in self.adapter.slot_texts(f)},
            })  # fmt: skip
            for b, f in zip(bundles, finals)
        ]
        call.set(self.prompt_arg, [f.positive for f in finals] if batch else finals[0].positive)
        for slot in self.adapter.slots[1:]:  # prompt_2, prompt_3: each fitted to its own encoder
            if self.prompt_arg == "prompt" and call.accepts(slot.argument) and call.get(slot.argument) is None:
                texts = [f.extra.get(slot.argument, f.positive) for f in finals]
                call.set(slot.argument, texts if batch else texts[0])
        if self.negative_arg and call.accepts(self.negative_arg):
            call.set(self.negative_arg, [f.negative for f in finals] if batch else finals[0].negative)
        return call.run()


class _Call:
    """One call's arguments bound by the restorer's own signature, so that an image (or a prompt)
    passed by position is found wherever that callable puts it. A callable without a readable
    signature is taken by keywords alone."""

    def __init__(self, restorer: Callable[..., Any], args: tuple, kwargs: dict):
        self.restorer = restorer
        self.bound = None
        self.args, self.kwargs = args, dict(kwargs)
        try:
            self.signature = inspect.signature(restorer)
            self.bound = self.signature.bind_partial(*args, **kwargs)
        except (TypeError, ValueError):  # no signature (some builtins), or arguments it would refuse anyway
            self.signature = None
            return
        self.var_keyword = next((p.name for p in self.signature.parameters.values() if p.kind is p.VAR_KEYWORD), None)

    def _named(self, name: str) -> bool:
        parameter = self.signature.parameters.get(name) if self.signature else None
        return parameter is not None and parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)

    def accepts(self, name: str | None) -> bool:
        if name is None:
            return False
        return self.bound is None or self._named(name) or self.var_keyword is not None

    def get(self, name: str | None) -> Any:
        if name is None:
            return None
        if self.bound is None:
            return self.kwargs.get(name)
        if self._named(name):
            return self.bound.arguments.get(name)
        return self.bound.arguments.get(self.var_keyword, {}).get(name) if self.var_keyword else None

    def set(self, name: str, value: Any) -> None:
        if self.bound is None:
            self.kwargs[name] = value
        elif self._named(name):
            self.bound.arguments[name] = value
        elif self.var_keyword:
            self.bound.arguments.setdefault(self.var_keyword, {})[name] = value
        else:
            raise TypeError(f"{_name_of(self.restorer)} takes no argument {name!r}: name its prompt arguments in rescap.wrap(...)")

    def run(self) -> Any:
        """Call with what was given by position still by position, and everything else by keyword
        (as the caller did: some wrappers declare a signature but take keywords only)."""
        if self.bound is None:
            return self.restorer(*self.args, **self.kwargs)
        params = list(self.signature.parameters.values())
        if any(p.kind is p.VAR_POSITIONAL for p in params):
            return self.restorer(*self.bound.args, **self.bound.kwargs)
        by_position = [p.name for p in params[: len(self.args)]]
        arguments = self.bound.arguments
        keywords = {k: v for k, v in arguments.items() if k not in by_position and k != self.var_keyword}
        keywords.update(arguments.get(self.var_keyword, {}) if self.var_keyword else {})
        return self.restorer(*(arguments[name] for name in by_position), **keywords)


def _name_of(restorer: Any) -> str:
    return getattr(restorer, "__name__", None) or type(restorer).__name__


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
