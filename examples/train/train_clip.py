"""Train the tiny CLIP used as the retriever's bi-encoder and the re-ranker.

Contrastive (symmetric InfoNCE) on fresh renders and their captions; 30 % of the pictures are stickers
(all 12 names: the retriever has to find held-out stickers' documents in the memory bank; the image
generator never sees the held-out names).  To separate near-duplicates, each batch holds distinct captions.

    python3 train_clip.py --out runs/clip.pt --steps 500 --seed 3
"""
import argparse, json, math, os, time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import torch
import torch.nn.functional as F

import world
from clip import CLIP, ClipTokenizer, clip_words, clip_pixels

CLIP_CONFIG = {
    "architectures": ["CLIPModel"],
    "initializer_factor": 1.0,
    "logit_scale_init_value": 2.6592,
    "model_type": "clip",
    "projection_dim": 64,
    "text_config": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
                    "max_position_embeddings": 16, "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5,
                    "model_type": "clip_text_model", "projection_dim": 64},
    "vision_config": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
                      "image_size": 32, "patch_size": 8, "num_channels": 3, "hidden_act": "quick_gelu",
                      "layer_norm_eps": 1e-5, "model_type": "clip_vision_model", "projection_dim": 64},
    "torch_dtype": "float32",
}


def scene_stream(rng, shape_groups=0.0):
    """Scenes one by one; with probability shape_groups a group of four that differ only in shape, so that the
    contrast has to read the outline (the re-ranker's errors on the decoder's drawings were almost all shape)."""
    if rng.random() < 0.3:
        return [world.random_scene(rng, sticker=world.STICKER_NAMES[rng.integers(12)])]
    s = world.random_scene(rng)
    if shape_groups > 0 and rng.random() < shape_groups:  # no draw at 0: the shipped CLIP repeats step for step
        return [world.random_scene(rng, shape=sh, colour=s.colour, row=s.row, col=s.col, size=s.size)
                for sh in world.SHAPES]
    return [s]


def roundtrip_pool(vq_path, n, rng):
    """n scenes (as scene_stream draws them) with their pictures passed through the tokenizer (encoded, decoded to
    8-bit pixels): what the decoder's drawings look like, so that the re-ranker scores those as well as renders."""
    from train_lm import encode_scenes, decode_pixels
    from eval import load_vq
    vq = load_vq(vq_path, "cpu")
    scenes = [scene_stream(rng)[0] for _ in range(n)]
    with torch.no_grad():
        pixels = np.concatenate([decode_pixels(vq, encode_scenes(vq, scenes[i:i + 256])) for i in range(0, n, 256)])
    return scenes, pixels


def batch(rng, tok, n, shape_groups=0.0, pool=None, p_pool=0.0):
    seen, scenes, pixels = set(), [], []
    while len(scenes) < n:
        if pool is not None and rng.random() < p_pool:
            i = int(rng.integers(len(pool[0])))
            group = [(pool[0][i], pool[1][i])]
        else:
            group = [(s, None) for s in scene_stream(rng, shape_groups)]
        for s, px in group:
            if s.caption() not in seen and len(scenes) < n:
                seen.add(s.caption())
                scenes.append(s)
                pixels.append(s.render() if px is None else px)
    ids = [tok.encode(s.caption()) for s in scenes]
    L = max(len(i) for i in ids)
    t = torch.zeros(n, L, dtype=torch.long)
    for r, i in enumerate(ids):
        t[r, :len(i)] = torch.tensor(i)  # padding id 0 sits after <|endoftext|> (the argmax) and is never pooled
    return t, clip_pixels(np.stack(pixels)), scenes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="runs/clip.pt")
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--width", type=int, default=64, help="hidden size of both towers (and the projection)")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--patch", type=int, default=8, help="vision patch size in pixels")
    ap.add_argument("--shape_groups", type=float, default=0.0,
                    help="share of plain scenes drawn as a group of four that differ only in shape")
    ap.add_argument("--vq", help="tokenizer whose round trip (encode, decode) some training pictures go through")
    ap.add_argument("--roundtrip", type=float, default=0.0, help="share of training pictures from the round-trip pool")
    ap.add_argument("--roundtrip_pool", type=int, default=4096, help="scenes in the round-trip pool")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    tok = ClipTokenizer(clip_words())
    cfg = json.loads(json.dumps(CLIP_CONFIG))
    cfg["text_config"].update(vocab_size=len(tok), bos_token_id=tok.bos, eos_token_id=tok.eos, pad_token_id=tok.eos)
    cfg["projection_dim"] = args.width
    for tower in ("text_config", "vision_config"):
        cfg[tower].update(hidden_size=args.width, intermediate_size=2 * args.width, num_hidden_layers=args.layers,
                          num_attention_heads=max(4, args.width // 16), projection_dim=args.width)
    cfg["vision_config"]["patch_size"] = args.patch
    model = CLIP(cfg)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if p.dim() >= 2:
                p.normal_(0, 0.02 if "embedding" in n else 1 / math.sqrt(p[0].numel()))
    dev = torch.device(args.device)
    model.to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    pool = roundtrip_pool(args.vq, args.roundtrip_pool, np.random.default_rng(args.seed + 1)) if args.roundtrip else None
    t0 = time.time()
    for step in range(args.steps):
        lr = args.lr * min(1, (step + 1) / 50) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / args.steps)))
        for g in opt.param_groups:
            g["lr"] = lr
        ids, px, _ = batch(rng, tok, args.batch, args.shape_groups, pool, args.roundtrip)
        te, ie = model.text_embeds(ids.to(dev)), model.image_embeds(px.to(dev))
        logits = model.logit_scale.exp().clamp(max=100) * ie @ te.t()
        lab = torch.arange(args.batch, device=dev)
        loss = (F.cross_entropy(logits, lab) + F.cross_entropy(logits.t(), lab)) / 2
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 50 == 0 or step == args.steps - 1:
            acc = (logits.argmax(1) == lab).float().mean().item()
            print(json.dumps(dict(step=step, loss=round(loss.item(), 4), acc=round(acc, 3),
                                  scale=round(model.logit_scale.exp().item(), 2), sec=round(time.time() - t0))), flush=True)
    # evaluation: text->image retrieval among 432 + sticker candidates rendered fresh
    model.eval()
    erng = np.random.default_rng(777)
    with torch.no_grad():
        ev = {}
        for name, kind in (("plain", None), ("stickers", "st")):
            ok = 0
            ids, px, scenes = batch(erng, tok, 200) if kind is None else (None, None, None)
            if kind:
                sc = [world.random_scene(erng, sticker=world.STICKER_NAMES[erng.integers(12)]) for _ in range(200)]
                # candidates: the sticker pictures among 200 random plain pictures; right if the top image matches
                # the caption's (shape, colour, row, col, size)
                cand = sc + [world.random_scene(erng) for _ in range(200)]
                ie = model.image_embeds(clip_pixels(np.stack([s.render() for s in cand])).to(dev))
                for s in sc:
                    te = model.text_embeds(torch.tensor([tok.encode(s.caption())], device=dev))
                    best = cand[int((te @ ie.t()).argmax())]
                    ok += best.attrs() == s.attrs()
                ev[name] = ok / len(sc)
            else:
                ie, te = model.image_embeds(px.to(dev)), model.text_embeds(ids.to(dev))
                ev[name] = float(((te @ ie.t()).argmax(1).cpu() == torch.arange(len(scenes))).float().mean())
    print("EVAL", json.dumps(ev), flush=True)
    torch.save({"config": cfg, "state_dict": {k: v.cpu() for k, v in model.state_dict().items()}, "eval": ev, "minutes": (time.time() - t0) / 60,
                "seed": args.seed, "steps": args.steps}, args.out)


if __name__ == "__main__":
    main()
