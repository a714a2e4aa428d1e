import json
import os
import subprocess
import sys
import textwrap

import pytest

from rescap.backends import available_backends, create_backend, parse_model_string
from rescap.backends.registry import UnknownBackendError, get_backend_class


def test_builtins_are_listed_without_importing_them():
    code = (
        "import sys; from rescap.backends.registry import available_backends;"
        "names = sorted(available_backends());"
        "print(names, [m for m in ('torch', 'transformers', 'vllm', 'openai') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['openai', 'transformers', 'vllm'] []"


@pytest.mark.parametrize(
    "string, expected",
    [
        ("transformers:HuggingFaceTB/SmolVLM-500M-Instruct", ("transformers", "HuggingFaceTB/SmolVLM-500M-Instruct")),
        ("vllm:/models/qwen", ("vllm", "/models/qwen")),
        ("openai:gpt-4o-mini", ("openai", "gpt-4o-mini")),
        ("openai:", ("openai", "")),
        ("Qwen/Qwen2-VL-2B-Instruct", ("transformers", "Qwen/Qwen2-VL-2B-Instruct")),
        ("C:/models/x", ("transformers", "C:/models/x")),
    ],
)
def test_model_strings(string, expected):
    assert parse_model_string(string) == expected


def test_unknown_backend_suggests_the_closest():
    with pytest.raises(UnknownBackendError, match="did you mean 'vllm'"):
        get_backend_class("vlm")


PLUGIN = textwrap.dedent(
    '''
    from rescap.backends.base import GenerationResult, VLMBackend

    class EchoBackend(VLMBackend):
        name = "echo"

        def _generate(self, conversations, params):
            out = []
            for i, conv in enumerate(conversations):
                text = conv[-1]["content"] if isinstance(conv[-1]["content"], str) else conv[-1]["content"][-1]["text"]
                out.append(GenerationResult(index=i, text=f"{self.model}:{text}", finish_reason="stop"))
            return out
    '''
)


@pytest.fixture
def plugin_path(tmp_path):
    """A third-party package, installed the way pip lays one out: module + dist-info with entry points."""
    (tmp_path / "rescap_echo_plugin.py").write_text(PLUGIN)
    info = tmp_path / "rescap_echo_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: rescap-echo-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[rescap.backends]\necho = rescap_echo_plugin:EchoBackend\n")
    return tmp_path


def test_entry_point_plugin_is_listed_and_used(plugin_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(plugin_path), os.environ.get("PYTHONPATH", "")]))
    listed = subprocess.run(
        [sys.executable, "-m", "rescap.cli", "backends", "list", "--json"], capture_output=True, text=True, env=env, check=True
    ).stdout
    rows = {r["name"]: r for r in map(json.loads, listed.splitlines())}
    assert rows["echo"]["package"] == "rescap-echo-plugin" and rows["echo"]["status"] == "installed"
    assert {"transformers", "vllm", "openai"} <= set(rows)
    code = (
        "from rescap.backends import create_backend, text_message;"
        "b = create_backend('echo:model-x');"
        "print(b.generate([[text_message('user', 'hello')]])[0].text)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert out.strip() == "model-x:hello"


def test_in_process_registration_is_visible(plugin_path, monkeypatch):
    monkeypatch.syspath_prepend(str(plugin_path))
    import importlib

    importlib.invalidate_caches()
    assert "echo" in available_backends()
    assert create_backend("echo:m").generate([[{"role": "user", "content": "x"}]])[0].text == "m:x"
