"""CD-K's plausibility set on the demo model: which (k, alpha) keep the drawings right.

V = {t : p(t) >= alpha * k-th largest p}; inside V the draw follows log p - log p_unconditional (as the library's
sampler chain). Fresh pictures of captions seen in training, scored by the pixel detector (seeded).

    python3 cdk_sweep.py --vq runs/vq.pt --lm runs/lm.pt --n 100
"""
import argparse, os, time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np
import torch

import world
import train_lm as T
import eval as E


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vq", default="runs/vq.pt")
    ap.add_argument("--lm", default="runs/lm.pt")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    vq, lm, _, _ = E.load_models(args.vq, args.lm, args.device)
    rng = np.random.default_rng(777)
    scenes = [world.random_train_scene(rng) for _ in range(args.n)]
    prompts = [[T.BOS] + T.TOK.encode(s.caption()) + [T.BOI] for s in scenes]
    truths = [s.attrs() for s in scenes]
    print("| CFG | k | alpha | shape | colour | all five (95 % CI) |")
    print("|---|---|---|---|---|---|")
    for cfg in (1.0, 2.0):
        for k, alpha in [(5, 0.1), (5, 0.5), (20, 0.5), (1, 0.1), (1, 0.3), (1, 0.5)]:
            t = time.time()
            codes = T.sample_images(lm, prompts, cfg=cfg, cdk=(k, alpha), gen=T.generator(lm, 1))
            h = E.summarize(E.score(T.decode_pixels(vq, codes), truths), args.n)
            print(f"| {cfg:g} | {k} | {alpha:g} | {100 * h['shape']['acc']:.0f} | {100 * h['colour']['acc']:.0f} | "
                  f"{E.fmt(h['all'])} |", flush=True)


if __name__ == "__main__":
    main()
