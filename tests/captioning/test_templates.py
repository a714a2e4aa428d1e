import pytest

from rescap.captioning.templates import PromptTemplates, TemplateError


def test_builtin_templates_load_and_render():
    templates = PromptTemplates.load()
    assert set(templates.sources) == {"degradation", "content", "caption", "analysis", "single", "plain"}
    assert all(src.startswith("rescap.prompts/") for src in templates.sources.values())


def test_user_folder_overrides_one_file(tmp_path):
    (tmp_path / "caption.j2").write_text("Describe it in {{ target_words }} words, as {{ style }}.")
    templates = PromptTemplates.load(tmp_path)
    assert templates.sources["caption"] == str(tmp_path / "caption.j2")
    assert templates.render("caption", target_words=9) == "Describe it in 9 words, as sentence."
    assert templates.sources["content"].startswith("rescap.prompts/")


def test_override_through_the_environment(tmp_path, monkeypatch):
    (tmp_path / "caption.j2").write_text("{{ target_words }} words please")
    monkeypatch.setenv("RESCAP_PROMPTS_DIR", str(tmp_path))
    assert PromptTemplates.load().render("caption", target_words=5) == "5 words please"


@pytest.mark.parametrize(
    "text, message",
    [
        ("{{ target_words }} {{ colour }}", "unknown variables"),
        ("Describe the picture.", "must use"),
        ("{{ target_words }} {% if %}", "caption.j2"),
    ],
)
def test_invalid_templates_are_refused_with_the_file_named(tmp_path, text, message):
    (tmp_path / "caption.j2").write_text(text)
    with pytest.raises(TemplateError, match=message):
        PromptTemplates.load(tmp_path)


def test_missing_folder(tmp_path):
    with pytest.raises(TemplateError, match="does not exist"):
        PromptTemplates.load(tmp_path / "nope")
