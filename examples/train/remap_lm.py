"""Carry a trained decoder over to a new image tokenizer, as the starting point for training on it.

The decoder's image-token rows (input embedding and output head) belong to the old tokenizer's codebook. Each new
code j gets the average of the old rows weighted by how often old code i sits at the same cell of the same picture:
    row_new[j] = sum_i P(old = i | new = j) * row_old[i]        (counts over the 8x8 cells of N training renders)
Everything else (text rows, the transformer) is kept. A new code that the renders never produce keeps the mean of
the old image rows. Training then continues with `train_lm.py --init OUT --vq NEW_VQ`.

    python3 remap_lm.py --old_vq runs/gpu1/vq.pt --new_vq runs/vq_local.pt --lm runs/gpu3/lm_h.pt --out runs/lm_r.pt
"""
import argparse

import numpy as np
import torch

import world
import train_lm as T
from eval import load_vq
from texttok import IMG0, N_IMG


def cooccurrence(old_vq, new_vq, n, seed):
    """counts[j, i]: cells where the new tokenizer says j and the old one says i, over n training renders."""
    rng = np.random.default_rng(seed)
    scenes = [world.random_train_scene(rng) for _ in range(n)]
    old = T.encode_scenes(old_vq, scenes).reshape(-1).astype(np.int64)  # [n*64]
    new = T.encode_scenes(new_vq, scenes).reshape(-1).astype(np.int64)  # [n*64]
    counts = np.zeros((N_IMG, N_IMG), np.float64)
    np.add.at(counts, (new, old), 1.0)
    return counts


def remap_rows(weight, counts):
    """weight [vocab, d] -> float32 copy with the image rows replaced by count-weighted averages of the old ones."""
    w = weight.float().clone()
    old_rows = w[IMG0:IMG0 + N_IMG]  # [256, d]
    totals = counts.sum(1, keepdims=True)  # [256, 1]
    p = torch.from_numpy(np.where(totals > 0, counts / np.maximum(totals, 1), 1.0 / N_IMG)).float()  # [256 new, 256 old]
    w[IMG0:IMG0 + N_IMG] = p @ old_rows
    return w


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--old_vq", required=True, help="the tokenizer the decoder was trained with")
    ap.add_argument("--new_vq", required=True)
    ap.add_argument("--lm", required=True, help="the decoder checkpoint")
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=4000, help="training renders to count on")
    ap.add_argument("--seed", type=int, default=77)
    args = ap.parse_args()
    counts = cooccurrence(load_vq(args.old_vq, "cpu"), load_vq(args.new_vq, "cpu"), args.n, args.seed)
    used = counts.sum(1) > 0
    purity = counts.max(1)[used].sum() / counts.sum()
    print(f"new codes produced: {int(used.sum())}; cells whose old code is the new code's most frequent: {purity:.3f}")
    ck = T.load_checkpoint(args.lm)
    sd = ck["state_dict"]
    for key in ("model.embed_tokens.weight", "lm_head.weight"):
        sd[key] = remap_rows(sd[key], counts)
    sd = {k: v.float() for k, v in sd.items()}  # training continues in float32 (the shipped decoder is bf16)
    torch.save({"config": ck["config"], "state_dict": sd, "remapped_from": args.lm, "old_vq": args.old_vq,
                "new_vq": args.new_vq}, args.out)
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
