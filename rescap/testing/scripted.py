"""A scripted VLM backend for unit tests of prompt logic: it answers from a function or a queue,
and records every conversation it was sent. Never a substitute for a real backend's tests.

Example:
    >>> from rescap.testing.scripted import ScriptedBackend
    >>> backend = ScriptedBackend(lambda prompt, step: '{"caption": "a cat"}')
    >>> backend.generate([[{"role": "user", "content": "hi"}]])[0].text
    '{"caption": "a cat"}'
"""

from __future__ import annotations

from typing import Callable

from ..backends.base import Conversation, GenerationParams, GenerationResult, VLMBackend


def _text_of(conversation: Conversation) -> str:
    content = conversation[-1]["content"]
    return content if isinstance(content, str) else " ".join(p.get("text", "") for p in content if p.get("type") == "text")


def _step_of(params: GenerationParams) -> str:
    props = set((params.json_schema or {}).get("properties", {}))
    if {"degradation", "content", "caption"} <= props:
        return "single"
    if {"degradation", "content"} <= props:
        return "analysis"
    if "subjects" in props:
        return "content"
    if "noise" in props:
        return "degradation"
    if "caption" in props:
        return "caption"
    return "free"


class ScriptedBackend(VLMBackend):
    """Answers ``answer(prompt_text, step)`` for each conversation; ``None`` fails that item."""

    name = "scripted"

    def __init__(self, answer: Callable[[str, str], str | None], model: str = "script", **options):
        super().__init__(model, **options)
        self.answer = answer
        self.calls: list[tuple[str, int]] = []  # (step, batch size) per generate call
        self.prompts: list[str] = []

    def _generate(self, conversations: list[Conversation], params: GenerationParams) -> list[GenerationResult]:
        step = _step_of(params)
        self.calls.append((step, len(conversations)))
        out = []
        for i, conversation in enumerate(conversations):
            prompt = _text_of(conversation)
            self.prompts.append(prompt)
            text = self.answer(prompt, step)
            out.append(GenerationResult(index=i, text=text, finish_reason="stop") if text is not None else GenerationResult(index=i, error="scripted failure"))
        return out
