"""``rescap serve``: rescap's captions behind an OpenAI-compatible HTTP API, with dynamic batching.

Any client that captions through an OpenAI-compatible chat endpoint (HYPIR's demo, ComfyUI nodes,
other languages) gets rescap's degradation-aware, budgeted captions with no code change; many
clients share one loaded VLM, their concurrent requests gathered into batched VLM calls.

Modules: ``settings`` (the server's settings), ``requests`` (reading images and text from
requests), ``batcher`` (dynamic batching), ``service`` (captioners per restorer), ``metrics``
(Prometheus), ``app`` (the FastAPI application).
"""
