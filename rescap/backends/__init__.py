"""VLM backends behind one interface: transformers (embedded default), vLLM, OpenAI-compatible HTTP.

Example:
    >>> from rescap.backends import available_backends
    >>> sorted(available_backends())[:3]
    ['openai', 'transformers', 'vllm']
"""

from .base import (
    BackendError,
    BatchGenerationError,
    Conversation,
    GenerationParams,
    GenerationResult,
    Message,
    ModelNotFoundError,
    VLMBackend,
    text_message,
)
from .registry import available_backends, create_backend, parse_model_string

__all__ = [
    "BackendError",
    "BatchGenerationError",
    "Conversation",
    "GenerationParams",
    "GenerationResult",
    "Message",
    "ModelNotFoundError",
    "VLMBackend",
    "available_backends",
    "create_backend",
    "parse_model_string",
    "text_message",
]
