import base64

import pytest

from rescap.serve.requests import RequestError, chat_image_and_text, image_bytes, user_text_to_merge


@pytest.mark.parametrize(
    "text",
    [
        "Provide a detailed description of this image without exceeding 100 words and without line breaks.",  # HYPIR's
        "Describe the image.",
        "What is in this picture?",
        "You are an expert photographer. Caption the attached photo.",
        "Please write a caption for the photo",
    ],
)
def test_captioning_instructions_are_not_merged(text):
    assert user_text_to_merge(text) is None


@pytest.mark.parametrize("text", ["my grandmother's garden in 1962", "a red Ferrari 250 GTO", "Kyoto, autumn, Kiyomizu-dera"])
def test_facts_about_the_photo_are_merged(text):
    assert user_text_to_merge(text) == text


def test_remote_urls_and_server_paths_are_refused(tmp_path):
    for url in ("http://169.254.169.254/latest/meta-data", "https://example.com/a.png", "ftp://host/a.png"):
        with pytest.raises(RequestError) as err:
            image_bytes(url, tmp_path)
        assert err.value.status == 400 and "not fetched" in err.value.message
    with pytest.raises(RequestError) as err:
        image_bytes("file:///etc/passwd", None)
    assert err.value.status == 400 and "--images-dir" in err.value.message


def test_images_dir_allows_its_own_files_only(tmp_path):
    root = tmp_path / "images"
    root.mkdir()
    (root / "a.png").write_bytes(b"png bytes")
    (tmp_path / "secret.txt").write_text("no")
    assert image_bytes("a.png", root) == b"png bytes"
    assert image_bytes(f"file://{root / 'a.png'}", root) == b"png bytes"
    for escape in ("../secret.txt", str(tmp_path / "secret.txt"), "file:///etc/passwd"):
        with pytest.raises(RequestError) as err:
            image_bytes(escape, root)
        assert err.value.status == 403
    link = root / "link.png"
    link.symlink_to(tmp_path / "secret.txt")
    with pytest.raises(RequestError) as err:
        image_bytes("link.png", root)
    assert err.value.status == 403


def test_chat_messages_give_one_image_and_the_user_text():
    data = base64.b64encode(b"image bytes").decode()
    messages = [
        {"role": "system", "content": "You are a captioner."},
        {"role": "user", "content": [{"type": "text", "text": "a garden"}, {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}}]},
    ]
    assert chat_image_and_text(messages, None) == (b"image bytes", "a garden")
    two = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}}] * 2}]
    for bad in ([], "hi", [{"role": "user", "content": "no image"}], two, [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}}]}]):
        with pytest.raises(RequestError) as err:
            chat_image_and_text(bad, None)
        assert err.value.status == 400 and "\n" not in err.value.message
