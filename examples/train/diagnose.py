"""Why held-out captions are drawn wrong: checks on a trained tokenizer and decoder (seeded; CPU is fine).

  python3 diagnose.py --vq runs/vq.pt --part locality                    # do codes far from the shape know it?

  python3 diagnose.py --vq runs/vq.pt --lm runs/lm_h.pt --part novelty   # novel (position, code) pairs vs accuracy
  python3 diagnose.py ... --part nll                                      # teacher-forced loss by code frequency
  python3 diagnose.py ... --part edit                                     # "make it red" on a seen neighbour
  python3 diagnose.py ... --part quick --seed 7                           # held-out CFG 1/2/3 and seen CFG 2, n 200
"""
import argparse
from collections import Counter

import numpy as np
import torch

import world
import train_lm as T
import eval as E
from train_lm import TOK, BOS, BOI, SEP, IMG0, img_tokens


def code_counts(vq, rng, n=30000):
    """How often each (grid position, code) pair occurs in n fresh renders of training captions."""
    codes = T.encode_scenes(vq, [world.random_train_scene(rng) for _ in range(n)])
    return Counter((p, int(c)) for row in codes for p, c in enumerate(row))


def prompt(scene):
    return [BOS] + TOK.encode(scene.caption()) + [BOI]


def novelty(vq, lm, rng, per_combo=6):
    """Per held-out caption: the share of its renders holding a (position, code) pair seen at most twice in
    training's renders, against how often CFG 2 draws the caption right."""
    counts = code_counts(vq, rng)
    scenes = [world.random_scene(rng, shape=s, colour=c, row=r, col=k, size=z)
              for (s, c, r, k, z) in world.HELDOUT_COMBOS for _ in range(per_combo)]
    novel = np.array([any(counts[(p, int(c))] <= 2 for p, c in enumerate(row))
                      for row in T.encode_scenes(vq, scenes)])
    imgs = T.decode_pixels(vq, T.sample_images(lm, [prompt(s) for s in scenes], cfg=2.0, gen=T.generator(lm, 1)))
    right = np.array([world.attr_hits(world.detect(im), s.attrs())["all"] for im, s in zip(imgs, scenes)])
    nov, ok = novel.reshape(-1, per_combo).mean(1), right.reshape(-1, per_combo).mean(1)
    print(f"renders with a novel pair: {novel.mean():.3f}; drawn right (CFG 2): {right.mean():.3f}")
    print(f"correlation over the {len(nov)} held-out captions: {np.corrcoef(nov, ok)[0, 1]:.3f}")
    for name, m in [("novelty >= 0.5", nov >= 0.5), ("novelty < 0.5", nov < 0.5)]:
        print(f"  captions with {name}: {m.sum()}, drawn right {ok[m].mean():.3f}")


def locality(vq, rng, n=600):
    """Shapes at the top left; the codes of the three cells farthest from them (bottom right, all white): how many
    codes they take, and how often the cell's code alone names the shape's colour and shape (the majority label per
    code, i.e. the best any reader of that code could do; chance is about 1/6 and 1/4)."""
    scenes = [world.random_scene(rng, row="top", col="left") for _ in range(n)]
    codes = T.encode_scenes(vq, scenes).reshape(n, 8, 8)
    for cell in [(7, 7), (7, 5), (5, 7)]:
        cc = codes[:, cell[0], cell[1]]
        line = f"cell {cell}: {len(set(cc.tolist()))} codes"
        for field in ("colour", "shape"):
            by = {}
            for s, c in zip(scenes, cc):
                by.setdefault(int(c), Counter())[getattr(s, field)] += 1
            line += f", names the {field} {sum(max(v.values()) for v in by.values()) / n:.3f}"
        print(line, flush=True)


def nll(vq, lm, rng, n=600):
    """Teacher-forced loss of the true codes after the caption, held-out against seen captions, by how often the
    (position, code) pair occurs in training's renders."""
    counts = code_counts(vq, rng)
    for name, scenes in [("held-out", [world.random_heldout_scene(rng) for _ in range(n)]),
                         ("seen", [world.random_train_scene(rng) for _ in range(n)])]:
        codes = T.encode_scenes(vq, scenes)
        losses = []
        with torch.no_grad():
            for i in range(0, n, 50):
                ids = torch.tensor([prompt(s) + [IMG0 + int(c) for c in row]
                                    for s, row in zip(scenes[i:i + 50], codes[i:i + 50])])
                # logits that predict the 64 codes: [B, 64, 256]
                lg = lm(ids, None, 0)[:, -65:-1, IMG0:IMG0 + 256]
                tgt = torch.tensor(codes[i:i + 50]).long()
                losses.append(-torch.log_softmax(lg, -1).gather(2, tgt[..., None])[..., 0].numpy())
        loss = np.concatenate(losses)
        cnt = np.array([[counts[(p, int(c))] for p, c in enumerate(row)] for row in codes])
        print(f"{name}: {loss.sum(1).mean():.1f} nats per picture, worst code {loss.max(1).mean():.1f} on average")
        for lo, hi in [(0, 3), (3, 30), (30, 300), (300, 3000), (3000, None)]:
            m = (cnt >= lo) & (cnt < (hi or np.inf))
            if m.any():
                print(f"  pair seen [{lo}, {hi or '∞'}): {m.sum():6d} codes, mean loss {loss[m].mean():.3f}")


def edit(vq, lm, rng, n=200):
    """Compose by editing: a picture of a seen caption that differs from the target in colour (or shape), then
    "make it <colour>" ("make it a <shape>"): for held-out targets against seen ones."""
    held = [world.random_heldout_scene(rng) for _ in range(n)]
    seen = [world.random_train_scene(rng) for _ in range(n)]
    for name, targets in [("held-out", held), ("seen", seen)]:
        for field, values, say in [("colour", world.COLOUR_NAMES, "make it {}"), ("shape", world.SHAPES, "make it a {}")]:
            srcs, instrs, kept = [], [], []
            for t in targets:
                if all(v == getattr(t, field) or world.is_heldout(t.replace(rng, **{field: v})) for v in values):
                    continue  # every neighbour of this kind is held out too
                while True:
                    s = t.replace(rng, **{field: values[rng.integers(len(values))]})
                    if s.attrs() != t.attrs() and not world.is_heldout(s):
                        break
                kept.append(t)
                srcs.append(s)
                instrs.append(say.format(getattr(t, field)))
            pr = [[BOS] + img_tokens(c) + TOK.encode(i) + [SEP, BOI] for c, i in zip(T.encode_scenes(vq, srcs), instrs)]
            imgs = T.decode_pixels(vq, T.sample_images(lm, pr, gen=T.generator(lm, 1)))
            r = E.summarize(E.score(imgs, [t.attrs() for t in kept]), len(kept))
            print(f"{name} targets ({len(kept)}), {field} edit: all five {r['all']['acc']:.3f} {r['all']['ci95']}, "
                  f"shape {r['shape']['acc']:.3f}, colour {r['colour']['acc']:.3f}", flush=True)


def quick(vq, lm, rng, n=200):
    """A short check for a decoder in training: text->image for n held-out captions at CFG 1, 2 and 3 and n/2 seen
    ones at CFG 2, then image->text on the same pictures."""
    held = [world.random_heldout_scene(rng) for _ in range(n)]
    seen = [world.random_train_scene(rng) for _ in range(n // 2)]
    for name, scenes, cfgs in [("held-out", held, (1.0, 2.0, 3.0)), ("seen", seen, (2.0,))]:
        for cfg in cfgs:
            imgs = T.decode_pixels(vq, T.sample_images(lm, [prompt(s) for s in scenes], cfg=cfg, gen=T.generator(lm, 1)))
            r = E.summarize(E.score(imgs, [s.attrs() for s in scenes]), len(scenes))
            print(f"{name} CFG {cfg}: " + ", ".join(f"{k} {v['acc']:.3f}" for k, v in r.items() if k != "n")
                  + f" {r['all']['ci95']}", flush=True)
        exact = T.eval_captions(lm, scenes, T.encode_scenes(vq, scenes))
        print(f"{name} image->text, exact caption: {exact:.3f}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vq", default="runs/vq.pt")
    ap.add_argument("--lm", default="runs/lm.pt")
    ap.add_argument("--part", choices=["locality", "novelty", "nll", "edit", "quick"], required=True)
    ap.add_argument("--n", type=int, default=200, help="targets per group (edit)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    if args.part == "locality":
        return locality(E.load_vq(args.vq, "cpu"), rng)
    vq, lm, _, _ = E.load_models(args.vq, args.lm, "cpu")
    {"novelty": lambda: novelty(vq, lm, rng), "nll": lambda: nll(vq, lm, rng),
     "edit": lambda: edit(vq, lm, rng, args.n),
     "quick": lambda: quick(vq, lm, rng, args.n)}[args.part]()


if __name__ == "__main__":
    main()
