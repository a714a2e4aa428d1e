import socket

import numpy as np
import pytest
from PIL import Image

from rescap.degradation.synthesize import add_gaussian_noise


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    """Every outgoing connection is refused, as on an air-gapped machine (whatever this one has)."""

    def refuse(self, *args, **kwargs):
        raise OSError(101, "Network is unreachable (refused by the test)")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: refuse(None))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))  # no weights cached by anyone
    return tmp_path / "torch-home"


@pytest.fixture(scope="session")
def bench_images(tmp_path_factory, photos):
    """Ground truth (64x64 crops of real photos) and degraded inputs of the same size, one in a subfolder."""
    root = tmp_path_factory.mktemp("bench-images")
    (root / "lq" / "sub").mkdir(parents=True)
    (root / "hq" / "sub").mkdir(parents=True)
    names = {"astronaut": "astronaut.png", "coffee": "coffee.png", "grass": "sub/grass.png"}
    for i, (photo, rel) in enumerate(names.items()):
        hq = np.asarray(Image.fromarray(photos[photo]).resize((64, 64), Image.Resampling.LANCZOS))
        Image.fromarray(hq).save(root / "hq" / rel)
        lq = Image.fromarray(hq).resize((32, 32), Image.Resampling.BICUBIC).resize((64, 64), Image.Resampling.BICUBIC)
        Image.fromarray(add_gaussian_noise(np.asarray(lq), 8 + 4 * i, seed=i)).save(root / "lq" / rel)
    return root
