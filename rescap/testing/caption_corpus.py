"""Realistic VLM answers for testing the text layer: long, detailed, multilingual captions, many
with degradation words next to articles and prepositions, and content words that only look like
degradation ("wood grain", "pixel art", "ancient artifacts").

Random-weight test models emit garbage, so they cannot show that text handling is right; these
captions are written the way real VLMs (LLaVA, Qwen2.5-VL, SmolVLM) answer, ignoring the length
they were asked for.

Example:
    >>> from rescap.testing.caption_corpus import CAPTIONS
    >>> len(CAPTIONS) >= 40 and any("wood grain" in c for c in CAPTIONS)
    True
"""

from __future__ import annotations

CAPTIONS = [
    # English, long, with degradation words next to articles and prepositions
    "A blurry photo of an old bronze helmet displayed on a stand in a glass museum case, with soft "
    "reflections on the glass, a small engraved plaque below it, and ancient artifacts on the shelves behind.",
    "An elderly man with a grey beard sits on a wooden bench in a sunlit park, wearing a brown tweed "
    "jacket and a flat cap; behind him, tall oak trees with dense green foliage line a gravel path, and "
    "the image is noisy and low resolution.",
    "A dog with blurry fur lies on a red woven rug next to a fireplace, its head resting on its paws, "
    "while warm light from the fire falls across the wooden floor.",
    "An hour before sunset, an honest-looking farmer in a straw hat stands in a wheat field, holding a "
    "pitchfork, with golden stalks swaying around him and a red barn in the distance.",
    "A grainy, low-resolution image of an 8-year-old girl in a yellow raincoat jumping into a puddle on a "
    "cobblestone street, with colourful umbrellas and shop windows behind her.",
    "A European city square at dusk with a baroque fountain in the centre, pigeons gathered on its rim, "
    "cafe tables with white tablecloths along the edges, and street lamps casting orange light on the stones.",
    "A close-up of a tabby cat with green eyes sitting on a windowsill, the fur around its face detailed "
    "and soft, with a blurred background of houseplants and a white curtain.",
    "A pixelated shot of a mountain lake surrounded by pine forests, with snow-capped peaks reflected in "
    "the still water, a wooden rowing boat tied to a small dock, and low clouds drifting over the ridge.",
    "Pixel art of a knight in silver armour standing in front of a castle gate, with a green dragon "
    "curled on the tower and a bright blue sky full of square clouds.",
    "A wooden table top showing the fine wood grain of walnut, with a ceramic coffee mug, an open "
    "notebook, a fountain pen, and a few scattered coffee beans in the morning light.",
    "An old stone bridge over a narrow river in a village, with ivy climbing its arches, moss on the "
    "stones, small houses with red tile roofs on both banks, and a heron standing in the shallow water, "
    "heavily compressed with JPEG artifacts.",
    "A portrait of a young woman with curly auburn hair and freckles, smiling softly at the camera, "
    "wearing a knitted cream sweater, against an out-of-focus background of autumn leaves.",
    "A busy street market in Marrakech with stalls selling spices in conical piles of red, yellow and "
    "orange, woven baskets, brass lanterns hanging overhead, and shoppers in colourful robes, the photo "
    "slightly blurry due to motion blur.",
    "A macro photograph of a honeybee on a purple lavender flower, with pollen on its legs, translucent "
    "wings, and tiny hairs on its thorax, 1,000 blossoms stretching into the distance.",
    "A red vintage car from the 1960s parked on a wet street at night, its chrome bumper gleaming under "
    "a neon sign that reads OPEN, with puddles reflecting the pink and blue lights.",
    "St. Mary's church with a tall white steeple rises above a snowy hillside, with a stone wall in the "
    "foreground, bare birch trees, and a 3.5 m wooden cross near the gate.",
    "A noisy image of a herd of elephants crossing a dusty savanna at sunrise, with acacia trees on the "
    "horizon, a baby elephant walking close to its mother, and birds flying overhead.",
    "A bowl of ramen on a dark wooden counter, with a soft-boiled egg cut in half, slices of pork, green "
    "onions, nori sheets and chopsticks resting on the rim, steam rising from the broth.",
    "An aerial view of a river delta with braided channels of turquoise water winding through sandbanks "
    "and patches of green vegetation, a fishing village on the left bank, and a low-quality, "
    "jpeg-compressed look overall.",
    "A knitted wool scarf with a cable pattern in deep red, folded on a linen tablecloth next to a pair "
    "of leather gloves, a pine cone and a cup of hot chocolate topped with whipped cream.",
    "A lighthouse on a rocky cliff above a stormy sea, with waves crashing against the rocks and white "
    "spray in the air, a small keeper's cottage beside it, and dark clouds gathering over the water.",
    "A grain field at harvest time under a wide blue sky, with a combine harvester cutting the golden "
    "crop, a grain silo beside a farmhouse, and swallows skimming over the stubble.",
    "A street musician playing an accordion on a bridge in Paris, wearing a beret and a striped shirt, "
    "with an open case for coins at his feet, the Seine below, and Notre-Dame in the distance.",
    "Two children building a sandcastle on a beach, one holding a red bucket and the other a yellow "
    "spade, with seashells decorating the towers, gentle waves behind them, and a striped umbrella nearby.",
    "A weathered fishing boat pulled up on a pebble beach, its blue paint peeling, coils of rope and "
    "orange buoys in the hull, gulls standing on the stern, and chalk cliffs rising behind it.",
    "A slightly blurry and noisy photograph of a library reading room with tall wooden bookshelves, brass "
    "reading lamps with green shades, long oak tables, and a spiral staircase leading to a gallery.",
    "A snow leopard resting on a rocky ledge in the Himalayas, its thick spotted fur and long tail curled "
    "around its body, pale blue eyes looking to the side, with snow-covered peaks behind.",
    "A hand-painted sign reading FRESH BREAD above a bakery window full of baguettes, croissants and "
    "round loaves, with a chalkboard menu and flower boxes with red geraniums.",
    "A blurred image of a football match in a packed stadium at night, players in white and blue shirts "
    "chasing the ball, floodlights glaring, and fans waving scarves in the stands.",
    "A field of sunflowers facing the morning sun, their large yellow heads and dark centres in rows "
    "stretching to a line of poplar trees, with a bee on the nearest flower.",
    # multilingual answers (real VLMs answer in the user's language)
    "Портрет женщины в красном платье на фоне старой кирпичной стены, с размытым фоном, мягкий вечерний "
    "свет падает на её лицо, в руках букет полевых цветов, рядом деревянная скамейка и кованый фонарь.",
    "Ein alter Leuchtturm auf einer felsigen Klippe über dem stürmischen Meer, mit weißer Gischt, einem "
    "kleinen Wärterhaus daneben und dunklen Wolken über dem Wasser, leicht verschwommen und verrauscht.",
    "Une rue pavée de Montmartre au crépuscule, avec des cafés aux terrasses animées, des lampadaires en "
    "fer forgé, des pots de géraniums rouges aux fenêtres et la basilique du Sacré-Cœur au loin.",
    "Un mercado tradicional en Oaxaca con puestos de frutas tropicales, cestas de chiles secos, flores de "
    "cempasúchil, telas bordadas de colores vivos y vendedoras con rebozos, una imagen algo borrosa.",
    "雪の降る京都の寺院、赤い鳥居と石灯籠、苔むした石段、松の木に積もった雪、遠くに五重塔が見える静かな冬の朝の風景。",
    "一只橘色的猫趴在木窗台上晒太阳，窗外是绿色的竹林，窗台上放着一盆多肉植物和一本打开的书，画面有些模糊。",
    "Μια παραδοσιακή ψαρόβαρκα δεμένη σε ένα μικρό λιμάνι στις Κυκλάδες, με λευκά σπίτια και μπλε "
    "τρούλους στο βάθος, δίχτυα απλωμένα στην προβλήτα και γλάρους στον ουρανό.",
    "Un gatto tigrato dorme su una sedia di vimini in un giardino toscano, circondato da vasi di limoni, "
    "lavanda in fiore e un muro di pietra coperto d'edera, con cipressi sullo sfondo.",
    "Uma praia tropical com coqueiros inclinados sobre a areia branca, água azul-turquesa, um barco de "
    "pesca colorido na margem e montanhas verdes cobertas de floresta ao fundo.",
    "Eine Katze mit unscharfem Fell sitzt auf einem Holzzaun vor einem Bauernhaus, mit einem Gemüsegarten, "
    "Sonnenblumen und einem alten Traktor im Hintergrund.",
    "A Japanese garden with a koi pond, a red arched bridge, stone lanterns and maple trees in autumn "
    "colours; 池には鯉が泳ぎ、the water reflects the sky, with a low-res, blurry quality.",
    "Un vieux moulin à eau en pierre au bord d'une rivière, avec une roue en bois couverte de mousse, des "
    "saules pleureurs, un petit pont et des canards sur l'eau, photo floue et bruitée.",
]

# answers for the analysis steps, by schema property (filled into any schema by the stand-ins)
ASSESSMENTS = [
    "The photo shows moderate sensor noise in the shadows, some softness from a slight defocus, and blocky "
    "compression around high-contrast edges; the overall structure is still clearly visible.",
    "Heavy JPEG compression with visible 8x8 blocks in the sky, mild noise, and the picture looks upscaled "
    "from a smaller original, with jagged diagonal edges.",
    "Mostly clean; a little noise in the dark areas and slight softness, with no obvious compression.",
]
SCENES = [
    "an outdoor scene in a park with trees and a path",
    "a museum interior with display cases",
    "a coastal landscape with cliffs and the sea",
    "a city street at dusk",
]
SUBJECTS = [
    ("dense green foliage", "large", "benefits_from_detail"),
    ("an elderly man's face", "medium", "harmed_by_detail"),
    ("a wooden bench", "small", "insensitive"),
    ("a gravel path", "medium", "benefits_from_detail"),
    ("a sign with text", "small", "harmed_by_detail"),
]
