"""Speculative Jacobi decoding on the demo model: passes and wall time per image, and detector accuracy, with and
without it, drawn by the library's command line.

    python3 sjd_eval.py --n 200 --windows 0,4,8,16 -- --guidance 2 --samples 8

The prompts are eval.py's held-out text->image captions (seed 12345, after its 1000 ground-truth scenes); each run
draws all of them in one `bin/cm3leon text-to-image --prompts` call (prompt i with seed i), then the detector reads
every image. Accuracy is the share drawn right on all five attributes, with a 95 % Wilson interval.
"""
import argparse, json, math, os, re, subprocess, sys, tempfile

import numpy as np
from PIL import Image

import world

HERE = os.path.dirname(os.path.abspath(__file__))


def wilson(k, n, z=1.96):
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return [round(c - h, 3), round(c + h, 3)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--windows", default="0,8")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    ap.add_argument("args", nargs="*", help="options passed to text-to-image (after --)")
    args = ap.parse_args()
    rng = np.random.default_rng(12345)
    for _ in range(1000):               # eval.py's ground-truth scenes come first from the same stream
        world.random_scene(rng)
    scenes = [world.random_heldout_scene(rng) for _ in range(args.n)]
    cli = os.path.join(HERE, "..", "..", "bin", "cm3leon")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        prompts = os.path.join(tmp, "prompts.txt")
        with open(prompts, "w") as f:
            f.write("\n".join(s.caption() for s in scenes) + "\n")
        for w in [int(x) for x in args.windows.split(",")]:
            out = os.path.join(tmp, f"w{w}")
            spec = ["--speculative", str(w)] if w > 0 else []
            run = subprocess.run([cli, "text-to-image", "--prompts", prompts, "--out-dir", out, *args.args, *spec],
                                 capture_output=True, text=True)
            if run.returncode != 0:
                sys.exit(run.stderr.strip())
            summary = re.search(r"(\d+) images, ([\d.]+) passes per image, ([\d.]+) s per image", run.stdout)
            accept = re.search(r"acceptance by window position:(.*)", run.stdout)
            right = 0
            for i, s in enumerate(scenes):
                seen = world.detect(np.asarray(Image.open(os.path.join(out, f"{i:04d}.png")).convert("RGB")))
                right += all(world.attr_hits(seen, s.attrs()).values())
            row = {"window": w, "passes_per_image": float(summary.group(2)), "seconds_per_image": float(summary.group(3)),
                   "accuracy": round(right / args.n, 3), "ci95": wilson(right, args.n),
                   "acceptance_by_position": [float(x) for x in accept.group(1).split()] if accept else None}
            results.append(row)
            print(json.dumps(row), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"n": args.n, "args": args.args, "runs": results}, f, indent=1)


if __name__ == "__main__":
    main()
