"""Evaluate the trained demo model in PyTorch (seeded, reproducible) and print the results table.

    python3 eval.py --vq runs/vq.pt --lm runs/lm.pt --clip runs/clip.pt --out runs/eval.json

Text->image: prompts whose captions never occur in training (world.HELDOUT_COMBOS; jitter and radius drawn from
seed 12345), decoded images scored by the pixel detector of world.py; one row repeats the best sampling setting on
captions that training did show (fresh pictures).  Captions and VQA: greedy, on fresh renders.  Retrieval, top-1
prepended: by the demo CLIP as the library's Retriever does (with its near-copy rule and without), and by
IDF-weighted word overlap with the prompt (what a BM25 index returns first).
95 % confidence intervals are Wilson intervals.
"""
import argparse, json, math, os, time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np
import torch

import world
import train_lm as T
from train_lm import (TOK, BOS, EOS, BOI, SEP, IMG0, img_tokens, encode_scenes, encode_pixels, decode_pixels,
                      sample_images, greedy_text)
from lm import ChameleonLM
from vqgan import VQModel
from clip import CLIP, ClipTokenizer, clip_words, clip_pixels


def wilson(k, n, z=1.96):
    if n == 0:
        return [0.0, 0.0]
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return [round(c - h, 4), round(c + h, 4)]


def summarize(hits, n):
    return {k: {"acc": round(v / n, 4), "ci95": wilson(v, n)} for k, v in hits.items()} | {"n": n}


def score(imgs, truths):
    hits = {}
    for im, t in zip(imgs, truths):
        for k, v in world.attr_hits(world.detect(im), t).items():
            hits[k] = hits.get(k, 0) + v
    return hits


STOP = {"a", "at", "the"}


def retrieve(query, memory, k=1):
    """Top-k memory documents by IDF-weighted word overlap with the query (what a BM25 index ranks first)."""
    docs = [set(d[1].caption().split()) - STOP for d in memory]
    df = {}
    for ws in docs:
        for w in ws:
            df[w] = df.get(w, 0) + 1
    q = set(query.split()) - STOP
    score = [sum(math.log(len(docs) / df[w]) for w in q & ws) for ws in docs]
    order = sorted(range(len(memory)), key=lambda i: -score[i])
    return [memory[i] for i in order[:k]]


class ClipRetriever:
    """The library's Retriever on the demo CLIP: documents embedded (once) as the normalised mean of their normalised
    text and image embeddings, maximum inner product with the query's text embedding, candidates scoring above
    near_copy (0.9; inf keeps them) against the query dropped as near-copies and those above 0.95 against a kept one
    as duplicates."""

    def __init__(self, clip, memory, device):
        self.clip, self.memory, self.tok = clip, memory, ClipTokenizer(clip_words())
        with torch.no_grad():
            te = self.text([s.caption() for _, s in memory])
            ie = clip.image_embeds(clip_pixels(np.stack([s.render() for _, s in memory])).to(device))
            self.emb = torch.nn.functional.normalize(te + ie, dim=-1)

    def text(self, captions):
        # padded with </s>: attention is causal and the first </s> is the pooled position, so padding changes nothing
        ids = [self.tok.encode(c) for c in captions]
        width = max(map(len, ids))
        ids = [x + [self.tok.eos] * (width - len(x)) for x in ids]
        return self.clip.text_embeds(torch.tensor(ids, device=T.device_of(self.clip)))

    def __call__(self, queries, k=1, near_copy=0.9, factor=4):
        out = []
        with torch.no_grad():
            scores = self.text(queries) @ self.emb.T
        for row in scores:
            top = row.topk(min(len(self.memory), max(k * factor, k + 16)))  # as many candidates as the library asks for
            kept = []
            for sc, i in zip(top.values.tolist(), top.indices.tolist()):
                if sc > near_copy or any(float(self.emb[i] @ self.emb[j]) > 0.95 for j in kept):
                    continue
                kept.append(i)
                if len(kept) == k:
                    break
            out.append([self.memory[i] for i in kept])
        return out


def load_clip(path, device):
    ck = T.load_checkpoint(path)
    clip = CLIP(ck["config"]); clip.load_state_dict(ck["state_dict"]); clip.to(device).eval()
    return clip


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vq", default="runs/vq.pt")
    ap.add_argument("--lm", default="runs/lm.pt")
    ap.add_argument("--clip", default="runs/clip.pt")
    ap.add_argument("--out", default="runs/eval.json")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--rerank", type=int, default=8, help="samples per prompt for CLIP re-ranking (0: skip)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--rerank_n", type=int, default=60, help="prompts re-ranked (of --n)")
    ap.add_argument("--rag_samples", type=int, default=16,
                    help="samples per prompt for retrieval with re-ranking (the first --rerank of them re-ranked too)")
    ap.add_argument("--part", choices=["all", "t2i", "t2i_heldout", "t2i_seen", "rest", "rag", "rag_stickers",
                                       "rag_captions"], default="all",
                    help="run only part of the evaluation (parts can run side by side; merge with --merge); "
                         "t2i is t2i_heldout and t2i_seen, rag is rag_stickers and rag_captions")
    ap.add_argument("--merge", nargs="*", help="merge these result files into --out and print the table")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    if args.merge:
        res = {}
        for f in args.merge:
            res.update(json.load(open(f)))
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1)
        print_table(res)
        return
    t0 = time.time()
    vq, lm, vq_ck, lm_ck = load_models(args.vq, args.lm, args.device)
    # evaluate the weights as shipped: rounded to bf16
    with torch.no_grad():
        for p in lm.parameters():
            p.copy_(p.to(torch.bfloat16).float())
    res = {"vq_reconstruction": vq_ck.get("eval"), "train": {
        "vq_minutes": round(vq_ck.get("minutes", 0), 1), "lm_minutes": round(lm_ck.get("train_minutes", 0), 1),
        "lm_steps": lm_ck.get("steps"), "lm_tokens": lm_ck.get("tokens"), "lm_device": lm_ck.get("device", "cpu"),
        "lm_params_m": round(sum(p.numel() for p in lm.parameters()) / 1e6, 2)}}
    rng = np.random.default_rng(12345)
    n = args.n

    # detector on ground truth
    gt = [world.random_scene(rng) for _ in range(1000)]
    res["detector_ground_truth"] = summarize(score([s.render() for s in gt], [s.attrs() for s in gt]), 1000)

    scenes = [world.random_heldout_scene(rng) for _ in range(n)]
    cap_scenes = [world.random_train_scene(rng) for _ in range(n)]
    seen_scenes = [world.random_train_scene(rng) for _ in range(n)]
    heldout_cap_scenes = [world.random_heldout_scene(rng) for _ in range(n)]
    edit_seed = int(rng.integers(1 << 30))
    if args.part in ("all", "t2i", "t2i_heldout"):
        t2i_table(args, res, "text_to_image", lm, vq, scenes, n, t0)
    if args.part in ("all", "t2i", "t2i_seen"):
        t2i_table(args, res, "text_to_image_seen_captions", lm, vq, seen_scenes, n, t0)
    if args.part in ("all", "rest"):
        rest_part(args, res, lm, vq, cap_scenes, np.random.default_rng(edit_seed), n, t0, heldout_cap_scenes)
    if (args.part.startswith("rag") or args.part == "all") and args.rerank and os.path.exists(args.clip):
        groups = {"rag_stickers": ["held_out_stickers"], "rag_captions": ["held_out_captions"]}.get(
            args.part, ["held_out_stickers", "held_out_captions"])
        rag_part(args, res, lm, vq, t0, groups)
    res["eval_minutes_" + args.part] = round((time.time() - t0) / 60, 1)
    with open(args.out, "w") as f:
        json.dump(res, f, indent=1)
    print_table(res)


CDK = (1, 0.3)  # the library's defaults: k 1, alpha 0.3 (see cdk_sweep.py)


def load_vq(vq_path, device):
    """The VQ-GAN on the device, in eval mode."""
    vq_ck = T.load_checkpoint(vq_path)
    vq = VQModel(vq_ck["config"]); vq.load_state_dict(vq_ck["state_dict"])
    return vq.to(device).eval()


def load_models(vq_path, lm_path, device):
    """The VQ-GAN and the decoder on the device, in eval mode, with their checkpoints."""
    vq_ck, lm_ck = T.load_checkpoint(vq_path), T.load_checkpoint(lm_path)
    vq = load_vq(vq_path, device)
    lm = ChameleonLM(lm_ck["config"]); lm.load_state_dict(lm_ck["state_dict"]); lm.to(device).eval()
    return vq, lm, vq_ck, lm_ck


def t2i_table(args, res, table, lm, vq, scenes, n, t0):
    """One table of text->image settings on the given scenes' captions."""
    prompts = [[BOS] + TOK.encode(s.caption()) + [BOI] for s in scenes]
    truths = [s.attrs() for s in scenes]
    res[table] = {}
    for name, kw in [("cfg1_topp0.9", dict(cfg=1.0)), ("cfg1.5_topp0.9", dict(cfg=1.5)),
                     ("cfg2_topp0.9", dict(cfg=2.0)), ("cfg3_topp0.9", dict(cfg=3.0)),
                     ("cfg5_topp0.9", dict(cfg=5.0)), ("cfg0_unconditional", dict(cfg=0.0)),
                     ("cfg1_greedy", dict(cfg=1.0, greedy=True)), ("cfg2_greedy", dict(cfg=2.0, greedy=True)),
                     ("cfg1_cdk", dict(cfg=1.0, cdk=CDK)), ("cfg2_cdk", dict(cfg=2.0, cdk=CDK))]:
        codes = sample_images(lm, prompts, gen=T.generator(lm, 1), **kw)
        res[table][name] = summarize(score(decode_pixels(vq, codes), truths), n)
        print(table, name, res[table][name]["all"], f"{time.time() - t0:.0f}s", flush=True)

    if args.rerank and os.path.exists(args.clip):
        clip = load_clip(args.clip, args.device)
        m, r = min(n, args.rerank_n), args.rerank
        rep = [p for p in prompts[:m] for _ in range(r)]
        draws = {"topp0.9": decode_pixels(vq, sample_images(lm, rep, cfg=2.0, gen=T.generator(lm, 2))),
                 "cdk": decode_pixels(vq, sample_images(lm, rep, cfg=2.0, cdk=CDK, gen=T.generator(lm, 3)))}
        # half top-p, half CD-K: the first r/2 draws of each set, re-ranked together
        a = draws["topp0.9"].reshape(m, r, 32, 32, 3)[:, :r // 2]
        b = draws["cdk"].reshape(m, r, 32, 32, 3)[:, :r - r // 2]
        draws["half_topp_half_cdk"] = np.concatenate([a, b], 1).reshape(m * r, 32, 32, 3)
        for name, imgs in draws.items():
            best = clip_best(clip, [s.caption() for s in scenes[:m]], imgs, r)
            key = f"cfg2_{name}_clip_rerank{r}"
            res[table][key] = summarize(score(best, truths[:m]), m)
            print(table, key, res[table][key]["all"], flush=True)



def clip_scores(clip, captions, imgs, r):
    """CLIP's score of each caption's r pictures (imgs holds them caption by caption): [len(captions), r]."""
    dev = T.device_of(clip)
    te = clip.text_embeds(torch.tensor([ClipTokenizer(clip_words()).encode(c) for c in captions], device=dev))
    ie = torch.cat([clip.image_embeds(clip_pixels(imgs[i:i + 1024]).to(dev))
                    for i in range(0, len(imgs), 1024)]).reshape(len(captions), r, -1)
    return (ie @ te[:, :, None])[..., 0]


def clip_best(clip, captions, imgs, r):
    """Of each caption's r pictures (imgs holds them caption by caption), the one CLIP scores highest against it."""
    pick = clip_scores(clip, captions, imgs, r).argmax(1).tolist()
    return [imgs[i * r + j] for i, j in enumerate(pick)]


def memory_bank(vq):
    """The demo memory bank's documents as (id, Scene), and each document's VQ codes by id."""
    memory = world.memory_scenes()
    return memory, dict(zip([d for d, _ in memory], encode_scenes(vq, [s for _, s in memory])))


def retrieval_prompt(docs, caption, mem_codes):
    """<s> T(c1) IMG1 <sep> ... T(caption) <racm3:break>: the retrieved documents before the prompt."""
    p = [BOS]
    for did, ds in docs:
        p += TOK.encode(ds.caption()) + img_tokens(mem_codes[did]) + [SEP]
    return p + TOK.encode(caption) + [BOI]


def rag_part(args, res, lm, vq, t0, groups):
    """CM3Leon's whole recipe on what training never showed: the bank's best document by CLIP (near-copies kept, as
    `--retrieve 1 --keep-near-copies`), CFG 2, and the best of k samples by CLIP (`--samples k`), for k = --rerank
    and 16, 32, ... up to --rag_samples (the first k of the same draws). The first sample alone is the same prompts
    without re-ranking; "any of k" is how often at least one of the first k is right (a perfect re-ranker)."""
    rng = np.random.default_rng(2468)
    clip = load_clip(args.clip, args.device)
    memory, mem_codes = memory_bank(vq)
    find = ClipRetriever(clip, memory, args.device)
    r = max(args.rerank, args.rag_samples)
    ks = sorted({args.rerank} | {k for k in (16, 32, 64, 128, 256) if k <= r} | {r})
    for group, m in (("held_out_stickers", min(100, args.n)), ("held_out_captions", args.n)):
        # both groups draw their scenes from one stream, so that either can run alone and see the same prompts
        if group == "held_out_stickers":
            sc = [world.random_scene(rng, sticker=world.HELDOUT_STICKERS[i % 4]) for i in range(m)]
        else:
            sc = [world.random_heldout_scene(rng) for _ in range(m)]
        if group not in groups:
            continue
        docs = find([s.caption() for s in sc], near_copy=float("inf"))
        prompts = [retrieval_prompt(d, s.caption(), mem_codes) for s, d in zip(sc, docs)]
        imgs = decode_pixels(vq, sample_images(lm, [p for p in prompts for _ in range(r)], cfg=2.0, gen=T.generator(lm, 5)))
        truths = [s.attrs() for s in sc]
        out = {"clip_retrieval_keep_near_copies_cfg2.0_first_sample": summarize(score(imgs[::r], truths), m)}
        right = np.array([all(world.attr_hits(world.detect(im), truths[i // r]).values())
                          for i, im in enumerate(imgs)]).reshape(m, r)
        scores = clip_scores(clip, [s.caption() for s in sc], imgs, r)   # embedded once for every k
        for k in ks:
            best = [imgs[i * r + j] for i, j in enumerate(scores[:, :k].argmax(1).tolist())]
            out[f"clip_retrieval_keep_near_copies_cfg2.0_clip_rerank{k}"] = summarize(score(best, truths), m)
            hit = int(right[:, :k].any(1).sum())
            out[f"clip_retrieval_keep_near_copies_cfg2.0_any_of{k}"] = {"all": {"acc": round(hit / m, 4),
                                                                             "ci95": wilson(hit, m)}, "n": m}
        res[group + "_retrieval_rerank"] = out
        print(group, "retrieval + re-ranking", {k: v["all"]["acc"] for k, v in out.items()}, f"{time.time() - t0:.0f}s",
              flush=True)


def rest_part(args, res, lm, vq, cap_scenes, rng, n, t0, heldout_cap_scenes):
    # captions of fresh renders (pictures never seen in training), and of renders of held-out captions
    for key, sc in (("image_to_text_exact", cap_scenes), ("image_to_text_exact_heldout_captions", heldout_cap_scenes)):
        pred = greedy_text(lm, [[BOS] + img_tokens(c) for c in encode_scenes(vq, sc)])
        k = sum(p == s.caption() for p, s in zip(pred, sc))
        res[key] = {"acc": round(k / n, 4), "ci95": wilson(k, n), "n": n,
                    "examples": [[s.caption(), p] for s, p in zip(sc[:3], pred[:3])]}
        print(key, k / n, flush=True)
    # captions of its own drawings (CFG 2, top-p 0.9), read back from their 8-bit pixels as the demo does; a caption
    # is right when it names what the detector sees in the drawing
    drawn = sample_images(lm, [[BOS] + TOK.encode(s.caption()) + [BOI] for s in cap_scenes], cfg=2.0, gen=T.generator(lm, 1))
    pixels = decode_pixels(vq, drawn)
    seen = [world.detect(im) for im in pixels]
    pred = greedy_text(lm, [[BOS] + img_tokens(c) for c in encode_pixels(vq, pixels)])
    k = sum(d is not None and p == world.caption_of(*d) for p, d in zip(pred, seen))
    res["image_to_text_own_drawings"] = {"acc": round(k / n, 4), "ci95": wilson(k, n), "n": n,
                                         "examples": [[s.caption(), p] for s, p in zip(cap_scenes[:3], pred[:3])]}
    print("image_to_text_own_drawings", k / n, flush=True)
    codes = encode_scenes(vq, cap_scenes)

    # VQA
    kinds = list(world.VQA)
    qs = [(s, kinds[i % 4]) for i, s in enumerate(cap_scenes)]
    pred = greedy_text(lm, [[BOS] + img_tokens(c) + TOK.encode(world.VQA[kd]) + [SEP] for c, (s, kd) in zip(codes, qs)])
    per = {kd: [0, 0] for kd in kinds}
    for p, (s, kd) in zip(pred, qs):
        per[kd][0] += p == T.vqa_answer(s, kd)
        per[kd][1] += 1
    k = sum(v[0] for v in per.values())
    res["vqa"] = {"acc": round(k / n, 4), "ci95": wilson(k, n), "n": n,
                  "per_question": {kd: round(a / b, 4) for kd, (a, b) in per.items()}}
    print("vqa", k / n, flush=True)

    # edit
    edits = []
    while len(edits) < n:
        s = world.random_scene(rng)
        e = T.edit_of(s, T.EDIT_KINDS[rng.integers(len(T.EDIT_KINDS))], rng)
        if e:
            edits.append((s, e[0], e[1]))
    src = encode_scenes(vq, [e[0] for e in edits])
    pr = [[BOS] + img_tokens(c) + TOK.encode(instr) + [SEP, BOI] for c, (_, instr, _) in zip(src, edits)]
    out = sample_images(lm, pr, cfg=1.0, gen=T.generator(lm, 3))
    res["edit"] = summarize(score(decode_pixels(vq, out), [e[2].attrs() for e in edits]), n)
    print("edit", res["edit"]["all"], flush=True)

    # stickers, with and without retrieval from the memory bank
    mem, mem_codes = memory_bank(vq)
    clip_retrieve = ClipRetriever(load_clip(args.clip, args.device), mem, args.device) if os.path.exists(args.clip) else None
    sticker = lambda names: lambda i: world.random_scene(rng, sticker=names[i % len(names)])
    for group, m, draw in (("held_out_stickers", min(100, n), sticker(world.HELDOUT_STICKERS)),
                           ("seen_stickers", min(100, n), sticker(world.SEEN_STICKERS)),
                           ("plain", min(100, n), lambda i: world.random_scene(rng)),
                           ("held_out_captions", n, lambda i: world.random_heldout_scene(rng))):
        sc = [draw(i) for i in range(m)]
        truths = [s.attrs() for s in sc]
        out = {}
        found = {"retrieval": [retrieve(s.caption(), mem) for s in sc]}
        if clip_retrieve:  # what `--retrieve 1` does, and with `--keep-near-copies`
            found["clip_retrieval"] = clip_retrieve([s.caption() for s in sc])
            found["clip_retrieval_keep_near_copies"] = clip_retrieve([s.caption() for s in sc], near_copy=float("inf"))
        appearance = {}  # how often the first document shows the prompt's shape and colour
        for mode, docs in found.items():
            same = sum(bool(d) and d[0][1].attrs()[:2] == s.attrs()[:2] for d, s in zip(docs, sc))
            appearance[mode] = {"acc": round(same / m, 4), "ci95": wilson(same, m), "n": m}
        res[group + "_first_document_same_appearance"] = appearance
        for mode in ["no_retrieval"] + list(found):
            prompts = [retrieval_prompt(d, s.caption(), mem_codes) for s, d in zip(sc, found.get(mode, [[]] * m))]
            for cfg in (1.0, 2.0):
                codes = sample_images(lm, prompts, cfg=cfg, gen=T.generator(lm, 4))
                out[f"{mode}_cfg{cfg}"] = summarize(score(decode_pixels(vq, codes), truths), m)
        res[group] = out
        print(group, {k: v["all"]["acc"] for k, v in out.items()}, f"{time.time() - t0:.0f}s", flush=True)



def fmt(d):
    return f"{100 * d['acc']:.1f} % [{100 * d['ci95'][0]:.0f}, {100 * d['ci95'][1]:.0f}]"


def print_table(res):
    lines = []
    for table, title in (("text_to_image_seen_captions", "captions seen in training, fresh pictures"),
                         ("text_to_image", "held-out captions (never in training)")):
        if table not in res:
            continue
        lines += [f"\ntext->image, {title}:\n",
                  "| setting | shape | colour | row | column | size | all five (95 % CI) | n |",
                  "|---|---|---|---|---|---|---|---|"]
        for k, v in res[table].items():
            lines.append(f"| {k} | " + " | ".join(f"{100 * v[a]['acc']:.1f}" for a in ("shape", "colour", "row", "col", "size"))
                         + f" | {fmt(v['all'])} | {v['n']} |")
    for key in ("image_to_text_exact", "image_to_text_exact_heldout_captions", "image_to_text_own_drawings", "vqa"):
        if key in res:
            lines.append(f"\n{key}: {fmt(res[key])} (n={res[key]['n']})")
    if "edit" in res:
        lines.append(f"edit (all attributes of the edited picture right): {fmt(res['edit']['all'])} (n={res['edit']['n']})")
    for g in ("held_out_stickers", "seen_stickers", "plain", "held_out_captions"):
        if g in res:
            lines.append(f"{g}: " + "; ".join(f"{k} {fmt(v['all'])}" for k, v in res[g].items()))
        if g + "_retrieval_rerank" in res:
            lines.append(f"{g}, retrieval + re-ranking: "
                         + "; ".join(f"{k} {fmt(v['all'])}" for k, v in res[g + "_retrieval_rerank"].items()))
        if g + "_first_document_same_appearance" in res:
            lines.append(f"{g}, first document shows the prompt's shape and colour: "
                         + "; ".join(f"{k} {fmt(v)}" for k, v in res[g + "_first_document_same_appearance"].items()))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
