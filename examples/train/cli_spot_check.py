"""Draw held-out captions with the library's command line and read the pictures with the detector.

    python3 cli_spot_check.py --n 30 -- --retrieve 1 --samples 64

The prompts are the first n of eval.py's retrieval part (seed 2468, after its 100 sticker prompts); each is drawn by
`bin/cm3leon text-to-image PROMPT ARGS --seed i`, so the figure checks the Java engine, sampler, retriever and
re-ranker end to end against what eval.py measures in PyTorch.
"""
import argparse, os, subprocess, sys, tempfile

import numpy as np
from PIL import Image

import world

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("args", nargs="*", help="options passed to text-to-image (after --)")
    args = ap.parse_args()
    rng = np.random.default_rng(2468)
    for i in range(100):  # eval.py's held-out sticker prompts come first from the same stream
        world.random_scene(rng, sticker=world.HELDOUT_STICKERS[i % 4])
    scenes = [world.random_heldout_scene(rng) for _ in range(args.n)]
    cli = os.path.join(HERE, "..", "..", "bin", "cm3leon")
    ok = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, s in enumerate(scenes):
            out = os.path.join(tmp, f"{i}.png")
            run = subprocess.run([cli, "text-to-image", s.caption(), *args.args, "--seed", str(i), "-o", out],
                                 capture_output=True, text=True)
            if run.returncode != 0:
                sys.exit(f"{s.caption()}: {run.stderr.strip()}")
            seen = world.detect(np.asarray(Image.open(out).convert("RGB")))
            right = all(world.attr_hits(seen, s.attrs()).values())
            ok += right
            print(f"{i:3d} {'right' if right else 'WRONG'}  {s.caption()}  (detector: {seen})", flush=True)
    print(f"{ok} / {args.n} drawn right with: {' '.join(args.args)}")


if __name__ == "__main__":
    main()
