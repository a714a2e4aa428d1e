"""Prompt templates: loaded from ``rescap.prompts`` (package data) and an optional user folder,
checked on load (they must parse, use only their step's variables, and render).

Example:
    >>> from rescap.captioning.templates import PromptTemplates
    >>> templates = PromptTemplates.load()
    >>> "about 12 words" in templates.render("caption", target_words=12, style="sentence")
    True
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

STEP_VARIABLES: dict[str, set[str]] = {
    "degradation": {"degradation"},
    "content": {"analysis", "max_subjects", "region"},
    "caption": {"scene", "subjects", "target_words", "style", "harmed", "region"},
}
STEP_VARIABLES["analysis"] = STEP_VARIABLES["degradation"] | STEP_VARIABLES["content"]
STEP_VARIABLES["single"] = STEP_VARIABLES["analysis"] | STEP_VARIABLES["caption"]
STEP_VARIABLES["plain"] = set()  # the one-sentence baseline caption of ``rescap bench``
REQUIRED_VARIABLES = {"caption": {"target_words"}, "single": {"target_words"}, "degradation": {"degradation"}}

ENV_VAR = "RESCAP_PROMPTS_DIR"


class TemplateError(ValueError):
    """A prompt template is invalid; the message names the file and the problem."""


def user_prompts_dir() -> Path | None:
    """``$RESCAP_PROMPTS_DIR``, else ``<user config dir>/rescap/prompts`` when it exists."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    try:
        from platformdirs import user_config_dir
    except ImportError:  # pragma: no cover
        return None
    folder = Path(user_config_dir("rescap")) / "prompts"
    return folder if folder.is_dir() else None


def _sample_context() -> dict[str, Any]:
    from ..degradation.report import DegradationReport

    report = DegradationReport.from_measurements(noise_sigma=12.0, blur_sigma=1.2, jpeg_quality=60, scale_factor=2)
    return {
        "degradation": report, "analysis": "moderate noise", "max_subjects": 6, "scene": "a street",
        "subjects": [{"name": "a red car", "category": "insensitive", "area": "large"}],
        "target_words": 20, "style": "sentence", "harmed": "the faces",
        "region": {"whole": "a street with a red car", "flat": False},  # a tile of a larger image (or None)
    }  # fmt: skip


@dataclass
class PromptTemplates:
    """The step templates, with where each came from."""

    environment: Any
    sources: dict[str, str]
    fingerprint: str = ""  # SHA-256 (first 16 hex) of every template's text: what changes the prompts

    @classmethod
    def load(cls, user_dir: str | Path | None = None) -> "PromptTemplates":
        """Built-in templates, overridden file by file from ``user_dir`` (or the user folder)."""
        import jinja2
        import jinja2.meta

        user = Path(user_dir).expanduser() if user_dir else user_prompts_dir()
        if user is not None and not user.is_dir():
            raise TemplateError(f"prompt folder {user} does not exist")
        builtin = resources.files("rescap.prompts")
        texts: dict[str, str] = {}
        sources: dict[str, str] = {}
        for step in STEP_VARIABLES:
            name = f"{step}.j2"
            if user is not None and (user / name).is_file():
                texts[name], sources[step] = (user / name).read_text(encoding="utf-8"), str(user / name)
            else:
                texts[name], sources[step] = builtin.joinpath(name).read_text(encoding="utf-8"), f"rescap.prompts/{name}"
        env = jinja2.Environment(
            loader=jinja2.DictLoader(texts), undefined=jinja2.StrictUndefined, trim_blocks=True, keep_trailing_newline=False
        )
        sample = _sample_context()
        for step, allowed in STEP_VARIABLES.items():
            name = f"{step}.j2"
            try:
                parsed = env.parse(texts[name])
                used = set(jinja2.meta.find_undeclared_variables(parsed))
                for ref in jinja2.meta.find_referenced_templates(parsed):
                    if ref is not None:
                        used |= set(jinja2.meta.find_undeclared_variables(env.parse(texts[ref])))
            except jinja2.TemplateError as exc:
                raise TemplateError(f"{sources[step]}: {exc}") from exc
            unknown = used - allowed
            if unknown:
                raise TemplateError(f"{sources[step]}: unknown variables {sorted(unknown)}; {step} may use {sorted(allowed)}")
            missing = REQUIRED_VARIABLES.get(step, set()) - used
            if missing:
                raise TemplateError(f"{sources[step]}: must use {sorted(missing)}")
            try:
                env.get_template(name).render(**sample)
            except jinja2.TemplateError as exc:
                raise TemplateError(f"{sources[step]}: does not render: {exc}") from exc
        digest = hashlib.sha256("\0".join(f"{name}\0{texts[name]}" for name in sorted(texts)).encode("utf-8")).hexdigest()[:16]
        return cls(env, sources, digest)

    def render(self, step: str, **context: Any) -> str:
        defaults = {k: None for k in STEP_VARIABLES[step]} | {"max_subjects": 5, "style": "sentence"}
        text = self.environment.get_template(f"{step}.j2").render(**(defaults | context))
        return "\n".join(line.rstrip() for line in text.strip().splitlines())
