from PIL import Image


def crop_folder(root, photos, count: int, size: int, name: str = "img{i:02d}.png"):
    """``root`` filled with ``count`` crops of the shared photos, ``size`` pixels square."""
    root.mkdir()
    crops = [photos[photo][y : y + size, x : x + size] for photo in photos for y in (0, 64) for x in (0, 64)]
    for i, crop in enumerate(crops[:count]):
        Image.fromarray(crop).save(root / name.format(i=i))
    return root
