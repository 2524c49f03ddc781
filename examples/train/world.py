"""The shapes world: a deterministic renderer, captions, stickers, and a pixel detector.

32x32 RGB, white background, one shape (circle, square, triangle, cross) in one of six colours,
at one of 3x3 grid positions, small or large.  Everything is driven by numpy Generators so that
every data stream is reproducible from a seed.
"""
import itertools

import numpy as np

SIZE = 32
SHAPES = ["circle", "square", "triangle", "cross"]
COLOURS = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (235, 205, 30),
    "purple": (150, 60, 190),
    "orange": (245, 140, 20),
}
COLOUR_NAMES = list(COLOURS)
PALETTE = np.array([COLOURS[c] for c in COLOUR_NAMES], dtype=np.float32)
ROWS = ["top", "middle", "bottom"]
COLS = ["left", "center", "right"]
SIZES = ["small", "large"]
RADIUS = {"small": (3.6, 4.0), "large": (5.4, 5.9)}
# The five attributes of a plain caption, in Scene.attrs() order, with their values; and every caption as a tuple.
ATTRIBUTES = {"shape": SHAPES, "colour": COLOUR_NAMES, "row": ROWS, "col": COLS, "size": SIZES}
ALL_COMBOS = list(itertools.product(*ATTRIBUTES.values()))

# Stickers: nonsense names bound to a fixed (shape, colour).  The first 8 are seen in training;
# the last 4 exist only as documents in the memory bank.
STICKERS = {
    "blick": ("circle", "purple"),
    "dax": ("square", "orange"),
    "wug": ("triangle", "green"),
    "fep": ("cross", "red"),
    "toma": ("circle", "yellow"),
    "zorp": ("square", "blue"),
    "kiki": ("triangle", "purple"),
    "gazzer": ("cross", "orange"),
    # held out
    "modi": ("circle", "green"),
    "pilk": ("square", "red"),
    "tulver": ("triangle", "blue"),
    "bouba": ("cross", "yellow"),
}
STICKER_NAMES = list(STICKERS)
SEEN_STICKERS = STICKER_NAMES[:8]
HELDOUT_STICKERS = STICKER_NAMES[8:]

# Names with no fixed appearance, used only in training's retrieval documents: each such document binds the
# name to a random (shape, colour) shown by the retrieved picture, so the model learns to copy a retrieved
# document's appearance rather than to memorise names (what the held-out stickers need).
_ONSETS = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z"]
_NUCLEI = ["a", "e", "i", "o", "u"]
_CODAS = ["b", "g", "k", "m", "n", "p", "sh", "x"]


def _anon_names(n=48, seed=31337):
    rng = np.random.default_rng(seed)
    taken = set(STICKER_NAMES) | {"a", "at", "the", "make", "it", "move", "to"}
    out = []
    while len(out) < n:
        w = "".join(x[rng.integers(len(x))] for x in (_ONSETS, _NUCLEI, _CODAS, _NUCLEI))
        if w not in taken:
            taken.add(w)
            out.append(w)
    return out


ANON_NAMES = _anon_names()

# Templates for the text tasks.
VQA = {
    "colour": "what colour is the shape?",
    "shape": "what shape is it?",
    "position": "where is the shape?",
    "size": "how big is the shape?",
}


def shape_mask(shape, cx, cy, r, size=SIZE):
    """Boolean [size,size] mask of one shape (pixel centres at x+0.5)."""
    x = np.arange(size, dtype=np.float64)
    u = (x[None, :] + 0.5 - cx) / r
    v = (x[:, None] + 0.5 - cy) / r
    if shape == "circle":
        return u * u + v * v <= 1.0
    if shape == "square":
        return (np.abs(u) <= 0.9) & (np.abs(v) <= 0.9)
    if shape == "triangle":
        return (v >= -1.0) & (v <= 0.9) & (np.abs(u) <= (v + 1.0) / 1.7)
    if shape == "cross":
        return ((np.abs(u) <= 0.4) & (np.abs(v) <= 1.0)) | ((np.abs(v) <= 0.4) & (np.abs(u) <= 1.0))
    raise ValueError(shape)


class Scene:
    """One picture: attributes plus the continuous parameters (jitter, radius)."""

    __slots__ = ("shape", "colour", "row", "col", "size", "jx", "jy", "r", "sticker")

    def __init__(self, shape, colour, row, col, size, jx, jy, r, sticker=None):
        self.shape, self.colour, self.row, self.col, self.size = shape, colour, row, col, size
        self.jx, self.jy, self.r, self.sticker = jx, jy, r, sticker

    def attrs(self):
        return (self.shape, self.colour, self.row, self.col, self.size)

    def replace(self, rng, **kw):
        d = {k: getattr(self, k) for k in self.__slots__}
        d.update(kw)
        s = Scene(**d)
        if "size" in kw and kw["size"] != self.size:
            s.r = float(rng.uniform(*RADIUS[s.size]))
        if ("shape" in kw or "colour" in kw) and "sticker" not in kw:
            s.sticker = None
        return s

    def render(self):
        cx = 6.5 + 9.5 * COLS.index(self.col) + self.jx
        cy = 6.5 + 9.5 * ROWS.index(self.row) + self.jy
        m = shape_mask(self.shape, cx, cy, self.r)
        img = np.full((SIZE, SIZE, 3), 255, dtype=np.uint8)
        img[m] = COLOURS[self.colour]
        return img

    def caption(self):
        return caption_of(self.shape, self.colour, self.row, self.col, self.size, self.sticker)


def caption_of(shape, colour, row, col, size, sticker=None):
    """The caption of a picture with these attributes (a sticker's name stands for its shape and colour)."""
    what = sticker if sticker else f"{colour} {shape}"
    return f"a {size} {what} at the {row} {col}"


def _heldout_combos(n=72, seed=2026):
    """The (shape, colour, row, col, size) captions never shown in training: text->image is evaluated on them."""
    pick = np.random.default_rng(seed).permutation(len(ALL_COMBOS))[:n]
    return [ALL_COMBOS[i] for i in sorted(pick)]


HELDOUT_COMBOS = _heldout_combos()
_HELDOUT_SET = set(HELDOUT_COMBOS)


def is_heldout(scene):
    return scene.sticker is None and scene.attrs() in _HELDOUT_SET


def random_train_scene(rng, **kw):
    """random_scene, never one of the held-out captions."""
    while True:
        s = random_scene(rng, **kw)
        if not is_heldout(s):
            return s


def random_heldout_scene(rng):
    """A fresh render of one of the held-out captions (never seen in training)."""
    shape, colour, row, col, size = HELDOUT_COMBOS[rng.integers(len(HELDOUT_COMBOS))]
    return random_scene(rng, shape=shape, colour=colour, row=row, col=col, size=size)


def random_scene(rng, shape=None, colour=None, row=None, col=None, size=None, sticker=None):
    if sticker is not None:
        shape, colour = STICKERS[sticker]
    shape = shape or SHAPES[rng.integers(4)]
    colour = colour or COLOUR_NAMES[rng.integers(6)]
    row = row or ROWS[rng.integers(3)]
    col = col or COLS[rng.integers(3)]
    size = size or SIZES[rng.integers(2)]
    jx, jy = rng.uniform(-0.5, 0.5, 2)
    r = rng.uniform(*RADIUS[size])
    return Scene(shape, colour, row, col, size, float(jx), float(jy), float(r), sticker)


def render_batch(rng, n):
    """n random plain scenes rendered to uint8 [n,32,32,3] (used by the VQ trainer; pictures of every caption)."""
    scenes = [random_scene(rng) for _ in range(n)]
    return np.stack([s.render() for s in scenes]), scenes


def memory_scenes(seed=4242):
    """The memory bank's documents, as (id, Scene): every sticker (held-out ones included) once at each of the 18
    placements (row, column, size), and one picture of every plain caption (the held-out ones included: the bank is
    what the model may look things up in, not what it was trained on)."""
    rng = np.random.default_rng(seed)
    docs = []
    for name in STICKER_NAMES:
        for k, (row, col, size) in enumerate(itertools.product(ROWS, COLS, SIZES)):
            docs.append((f"sticker-{name}-{k}", random_scene(rng, sticker=name, row=row, col=col, size=size)))
    for i, (s, c, row, col, size) in enumerate(ALL_COMBOS):
        docs.append((f"shape-{i:04d}", random_scene(rng, shape=s, colour=c, row=row, col=col, size=size)))
    return docs


def parse_caption(text):
    """Caption -> (shape, colour, row, col, size) or None.  Sticker names resolve to their binding."""
    w = text.strip().split()
    try:
        if len(w) == 8 and w[0] == "a" and w[4:6] == ["at", "the"]:
            _, size, colour, shape, _, _, row, col = w
        elif len(w) == 7 and w[0] == "a" and w[3:5] == ["at", "the"] and w[2] in STICKERS:
            _, size, name, _, _, row, col = w
            shape, colour = STICKERS[name]
        else:
            return None
    except ValueError:
        return None
    if shape in SHAPES and colour in COLOURS and row in ROWS and col in COLS and size in SIZES:
        return (shape, colour, row, col, size)
    return None


# ---------------------------------------------------------------- detector
_AREA = {"circle": np.pi, "square": 1.8 * 1.8, "triangle": 0.5 * 1.9 * (2 * 1.9 / 1.7), "cross": 2.56}
_WHITE = np.array([255, 255, 255], dtype=np.float32)


def detect(img):
    """uint8 [32,32,3] -> (shape, colour, row, col, size) or None when no shape is found.

    Colour: majority vote of nearest palette colour over clearly non-white pixels.
    Mask: pixels closer to that colour than to white.  Position: bounding-box centre.
    Shape and size: best IoU against each shape's template at its area-implied radius,
    refined over a small grid of centres; size from the fitted radius.
    """
    p = img.reshape(-1, 3).astype(np.float32)
    d_white = np.abs(p - _WHITE).sum(1)
    fg = d_white > 120
    if fg.sum() < 6:
        return None
    d = ((p[fg, None, :] - PALETTE[None]) ** 2).sum(-1)
    votes = np.bincount(d.argmin(1), minlength=len(PALETTE))
    ci = int(votes.argmax())
    colour = COLOUR_NAMES[ci]
    dc = ((p - PALETTE[ci]) ** 2).sum(1)
    dw = ((p - _WHITE) ** 2).sum(1)
    mask = (dc < dw).reshape(SIZE, SIZE)
    ys, xs = np.nonzero(mask)
    if len(xs) < 6:
        return None
    area = float(mask.sum())
    bx = (xs.min() + xs.max() + 1) / 2.0
    by = (ys.min() + ys.max() + 1) / 2.0
    best = (-1.0, None, None, None, None)
    for shape in SHAPES:
        r0 = np.sqrt(area / _AREA[shape])
        # bounding-box centre of the triangle lies 0.05 r above its nominal centre
        cy0 = by + (0.05 * r0 if shape == "triangle" else 0.0)
        for dr in (-0.3, 0.0, 0.3):
            r = r0 + dr
            for dx in (-0.5, 0.0, 0.5):
                for dy in (-0.5, 0.0, 0.5):
                    t = shape_mask(shape, bx + dx, cy0 + dy, r)
                    iou = (t & mask).sum() / max(1, (t | mask).sum())
                    if iou > best[0]:
                        best = (iou, shape, r0, bx + dx, cy0 + dy)
    _, shape, r, cx, cy = best
    col = COLS[int(np.clip(np.round((cx - 6.5) / 9.5), 0, 2))]
    row = ROWS[int(np.clip(np.round((cy - 6.5) / 9.5), 0, 2))]
    size = "large" if r > 4.65 else "small"
    return (shape, colour, row, col, size)


def attr_hits(pred, truth):
    """Per-attribute correctness dict (shape, colour, row, col, size, all)."""
    names = ("shape", "colour", "row", "col", "size")
    if pred is None:
        h = {k: False for k in names}
    else:
        h = {k: pred[i] == truth[i] for i, k in enumerate(names)}
    h["all"] = all(h[k] for k in names)
    return h


if __name__ == "__main__":
    import sys, time
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    rng = np.random.default_rng(123)
    t = time.time()
    tot = {}
    for _ in range(n):
        s = random_scene(rng)
        h = attr_hits(detect(s.render()), s.attrs())
        for k, v in h.items():
            tot[k] = tot.get(k, 0) + v
    print({k: round(v / n, 4) for k, v in tot.items()}, f"{(time.time()-t)/n*1e3:.2f} ms/img")
