"""Train the Chameleon decoder on the shapes world with a toy-scale CM3Leon recipe.

Documents (token level; T(x) = BPE ids of x, IMG = <racm3:break> + 64 codes + <eoss>):
  text->image      <s> T(caption) IMG </s>           (10 % caption dropout: <s> IMG </s>)
  partial caption  <s> T(some attributes) IMG </s>   (t2i_part: e.g. "a red circle", "a large shape at the top")
  image->text      <s> IMG T(caption) </s>
  retrieval        <s> T(c1) IMG1 <sep> [T(c2) IMG2 <sep>] T(caption) IMG </s>
  VQA              <s> IMG T(question) <sep> T(answer) </s>
  edit             <s> IMG T(instruction) <sep> IMG' </s>
  CM3 infilling    a text->image / image->text document with one span replaced by <sentinel:0>,
                   the span appended as <sentinel:0> span <sentinel:end> before </s>
The default mix is text->image 30 %, image->text 25 %, retrieval 20 %, VQA 8 %, edit 9 %, infilling 8 % (--mix;
partial captions only when named there).  Each step, each of the data-parallel processes samples --docs documents,
sorts them by length and runs them as --micro micro-batches padded to their longest document (gradient accumulation).
With --p_redrawn P, that share of the image->text, VQA and edit documents reads the codes of its picture redrawn
(decoded to 8-bit pixels and encoded again, as when the library captions a picture it drew), without a target on them.

    python3 train_lm.py --vq runs/vq.pt --out runs/lm.pt --steps 380 --procs 2 --seed 2
"""
import argparse, json, math, os, time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import torch
import torch.nn.functional as F

import world
import texttok
from texttok import BOS, EOS, PAD, BOI, EOI, SEP, SENT0, SENT_END, IMG0
from lm import ChameleonLM
from vqgan import VQModel, preprocess, postprocess

# the tokenizer's codes on a GPU must be the float32 codes the library computes (cuDNN would round convolutions to TF32)
torch.backends.cudnn.allow_tf32 = False

TOK = texttok.Tokenizer()
VOCAB = len(TOK) + (-len(TOK)) % 8
LM_CONFIG = dict(hidden_size=256, intermediate_size=704, num_hidden_layers=4, num_attention_heads=8,
                 num_key_value_heads=4, rms_norm_eps=1e-5, rope_theta=10000.0, max_position_embeddings=512,
                 vocab_size=VOCAB)
MIX = [("t2i", 0.30), ("i2t", 0.25), ("retrieval", 0.20), ("vqa", 0.08), ("edit", 0.09), ("infill", 0.08)]
P_NAMED, P_ANON = 0.6, 0.7  # retrieval documents: share with a named target; of those, share of anonymous names
P_HELDOUT_NAMES = 0.0  # anonymous-name retrieval documents that use a held-out sticker's name instead
P_EXACT = 0.0  # retrieval documents whose retrieved picture has the target's placement (row, column, size) too
P_NEAR = 0.0  # retrieval documents whose retrieved picture differs from the target in exactly one named attribute
P_REDRAWN = 0.0  # documents that read a picture (captions, VQA, edit sources) given the codes of its redrawn picture
EDIT_KINDS = ["colour", "shape", "left", "right", "top", "bottom", "size"]


def T(s):
    return TOK.encode(s)


def img_tokens(codes):
    return [BOI] + [IMG0 + int(c) for c in codes] + [EOI]


def unscored(tokens):
    """Tokens a document reads but is not trained to predict (make_batch gives them no target): a redrawn picture is
    something to read, not to draw, and its codes must not pull the unconditional stream that guidance contrasts
    against."""
    return [-1 - t for t in tokens]


def vqa_answer(scene, kind):
    if kind == "colour":
        return scene.colour
    if kind == "shape":
        return scene.shape
    if kind == "position":
        return f"{scene.row} {scene.col}"
    return scene.size


def edit_of(scene, kind, rng):
    """(instruction, edited scene) or None when the edit would change nothing."""
    if kind == "colour":
        c = [x for x in world.COLOUR_NAMES if x != scene.colour][rng.integers(5)]
        return f"make it {c}", scene.replace(rng, colour=c)
    if kind == "shape":
        s = [x for x in world.SHAPES if x != scene.shape][rng.integers(3)]
        return f"make it a {s}", scene.replace(rng, shape=s)
    if kind == "size":
        z = "large" if scene.size == "small" else "small"
        return f"make it {z}", scene.replace(rng, size=z)
    if kind in ("left", "right"):
        if scene.col == kind:
            return None
        return f"move it to the {kind}", scene.replace(rng, col=kind)
    if scene.row == kind:
        return None
    return f"move it to the {kind}", scene.replace(rng, row=kind)


def device_of(model):
    return next(model.parameters()).device


def load_checkpoint(path):
    """A checkpoint written by these scripts (plain dicts and tensors), on the CPU."""
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except TypeError:  # older PyTorch without weights_only
        return torch.load(path, map_location="cpu")


def generator(model, seed):
    """A seeded random generator on the model's device (sampling draws there)."""
    return torch.Generator(device=device_of(model)).manual_seed(seed)


def encode_pixels(vq, pixels, bs=500):
    """uint8 [N,32,32,3] -> VQ codes int16 [N,64]."""
    dev = device_of(vq)
    with torch.no_grad():
        return np.concatenate([vq.encode(preprocess(pixels[i:i + bs]).to(dev)).reshape(-1, 64).cpu().numpy()
                               .astype(np.int16) for i in range(0, len(pixels), bs)])


def encode_scenes(vq, scenes, bs=500):
    return np.concatenate([encode_pixels(vq, np.stack([s.render() for s in scenes[i:i + bs]]))
                           for i in range(0, len(scenes), bs)])


def decode_pixels(vq, codes, bs=100):
    """VQ codes [N,64] (tensor or array) -> uint8 pictures [N,32,32,3]."""
    dev = device_of(vq)
    with torch.no_grad():
        return np.concatenate([postprocess(vq.decode_codes(torch.as_tensor(codes[i:i + bs]).long().reshape(-1, 8, 8)
                                                           .to(dev))) for i in range(0, len(codes), bs)])


def redraw_codes(vq, codes):
    """The codes of the pictures that codes decode to, as 8-bit pixels: what the library reads back when it captions a
    picture it drew (a local tokenizer does not map its own reconstructions back onto the same codes)."""
    return encode_pixels(vq, decode_pixels(vq, codes))


def redraw(rng):
    """Whether a document reads a redrawn picture (P_REDRAWN); no draw when off, so older runs' streams stay as they were."""
    return P_REDRAWN > 0 and rng.random() < P_REDRAWN


class Pool:
    """Rendered scenes with their VQ codes (plain scenes, seen-sticker scenes, edit pairs)."""

    def __init__(self, vq, rng, n_plain, n_sticker, n_edit):
        # no held-out caption anywhere in training: neither as a picture's caption nor as an edit's source or target
        self.plain = [world.random_train_scene(rng) for _ in range(n_plain)]
        self.sticker = [world.random_scene(rng, sticker=world.SEEN_STICKERS[rng.integers(8)]) for _ in range(n_sticker)]
        self.edits = []
        while len(self.edits) < n_edit:
            src = world.random_train_scene(rng)
            e = edit_of(src, EDIT_KINDS[rng.integers(len(EDIT_KINDS))], rng)
            if e and not world.is_heldout(e[1]):
                self.edits.append((src, e[0], e[1]))
        allsc = self.plain + self.sticker + [e[0] for e in self.edits] + [e[2] for e in self.edits]
        codes = encode_scenes(vq, allsc)
        a, b, c = n_plain, n_plain + n_sticker, n_plain + n_sticker + n_edit
        self.plain_codes, self.sticker_codes = codes[:a], codes[a:b]
        self.edit_src_codes, self.edit_tgt_codes = codes[b:c], codes[c:]
        if P_REDRAWN > 0:
            redrawn = redraw_codes(vq, codes[:c])
            self.plain_redrawn, self.sticker_redrawn, self.edit_src_redrawn = redrawn[:a], redrawn[a:b], redrawn[b:c]
        self.by_sc, self.by_place = {}, {}  # by (shape, colour); by every attribute, placement included
        for i, s in enumerate(self.plain):
            self.by_sc.setdefault((s.shape, s.colour), []).append(i)
            self.by_place.setdefault(s.attrs(), []).append(i)
        self.by_shape = {k: [i for i, s in enumerate(self.plain) if s.shape == k] for k in world.SHAPES}
        self.by_colour = {k: [i for i, s in enumerate(self.plain) if s.colour == k] for k in world.COLOUR_NAMES}

    def near_miss(self, scene, rng, attrs):
        """Pool indices of pictures that differ from scene in exactly one of attrs (a random one that the pool has:
        held-out captions are not in it); the scene's own caption when none does."""
        for k in rng.permutation(len(attrs)):
            a = attrs[k]
            others = [v for v in world.ATTRIBUTES[a] if v != getattr(scene, a)]
            v = others[rng.integers(len(others))]
            key = tuple(v if n == a else getattr(scene, n) for n in world.ATTRIBUTES)
            if key in self.by_place:
                return self.by_place[key]
        return self.by_place[scene.attrs()]

    def pick(self, rng, p_sticker=0.15):
        """A random plain or seen-sticker scene: (scene, kind, index), kind naming its arrays ("plain", "sticker")."""
        kind = "sticker" if rng.random() < p_sticker else "plain"
        i = rng.integers(len(getattr(self, kind)))
        return getattr(self, kind)[i], kind, i

    def any_scene(self, rng):
        s, kind, i = self.pick(rng)
        return s, getattr(self, kind + "_codes")[i]

    def image_tokens(self, kind, i, redrawn):
        """The image tokens a document reads a picture from: its own codes, or those of its redrawn picture, unscored."""
        if redrawn:
            return unscored(img_tokens(getattr(self, kind + "_redrawn")[i]))
        return img_tokens(getattr(self, kind + "_codes")[i])

    def read_image(self, kind, i, rng):
        return self.image_tokens(kind, i, redraw(rng))


def doc_t2i(cap, codes, rng, dropout=0.1):
    if rng.random() < dropout:
        return [BOS] + img_tokens(codes) + [EOS]
    return [BOS] + T(cap) + img_tokens(codes) + [EOS]


def partial_caption(scene, rng):
    """The scene's caption with a random non-empty proper subset of its five attributes named (the others left out),
    so that each attribute word has to constrain the picture on its own."""
    while True:
        keep = rng.random(5) < 0.5  # shape, colour, row, col, size
        if 0 < keep.sum() < 5:
            break
    shape, colour, row, col, size = (v if k else None for v, k in zip(scene.attrs(), keep))
    words = ["a"] + [w for w in (size, colour) if w] + [shape or "shape"]
    where = [w for w in (row, col) if w]
    if where:
        words += ["at", "the"] + where
    return " ".join(words)


def doc_i2t(cap, image):
    return [BOS] + image + T(cap) + [EOS]


def doc_retrieval(pool, rng):
    pick = lambda lst: lst[rng.integers(len(lst))]
    exact = P_EXACT > 0 and rng.random() < P_EXACT  # no draw at 0: earlier runs repeat step for step
    near = not exact and P_NEAR > 0 and rng.random() < P_NEAR
    if rng.random() < P_NAMED:
        # named target: a seen sticker with its own (shape, colour), or -- most of the time -- a name with no
        # fixed appearance, bound for this document only to the (shape, colour) of the retrieved picture, so that
        # the model learns to copy a retrieved document's appearance (what the held-out stickers need).
        if rng.random() >= P_ANON:
            name = world.SEEN_STICKERS[rng.integers(8)]
            sc = world.STICKERS[name]
        else:
            if P_HELDOUT_NAMES > 0 and rng.random() < P_HELDOUT_NAMES:
                # a held-out sticker's name as an anonymous one: the model meets the word, bound to a random
                # appearance each time; what the sticker looks like is only in the memory bank
                name = world.HELDOUT_STICKERS[rng.integers(len(world.HELDOUT_STICKERS))]
            else:
                name = world.ANON_NAMES[rng.integers(len(world.ANON_NAMES))]
            sc = (world.SHAPES[rng.integers(4)], world.COLOUR_NAMES[rng.integers(6)])
        t = pick(pool.by_sc[sc])
        r = pick(pool.by_place[pool.plain[t].attrs()] if exact else
                 pool.near_miss(pool.plain[t], rng, ("row", "col", "size")) if near else pool.by_sc[sc])
        tcap = pool.plain[t].caption().replace(f"{sc[1]} {sc[0]}", name)
        rcap = pool.plain[r].caption().replace(f"{sc[1]} {sc[0]}", name)
        docs = [(rcap, pool.plain_codes[r])]
        tgt = (tcap, pool.plain_codes[t])
    else:
        t = rng.integers(len(pool.plain))
        s = pool.plain[t]
        u = rng.random()
        if exact:
            lst = pool.by_place[s.attrs()]
        elif near:
            lst = pool.near_miss(s, rng, tuple(world.ATTRIBUTES))
        else:
            lst = pool.by_sc[(s.shape, s.colour)] if u < 0.7 else (pool.by_shape[s.shape] if u < 0.85 else pool.by_colour[s.colour])
        r = pick(lst)
        docs = [(pool.plain[r].caption(), pool.plain_codes[r])]
        tgt = (s.caption(), pool.plain_codes[t])
        name = None
    if rng.random() < 0.5:  # a second, unrelated document
        d = rng.integers(len(pool.plain))
        dc = pool.plain[d].caption()
        if rng.random() < 0.3:
            j = rng.integers(len(pool.sticker))
            if pool.sticker[j].sticker != name:
                d, dc = None, pool.sticker[j].caption()
                docs.insert(rng.integers(2), (dc, pool.sticker_codes[j]))
        if d is not None:
            docs.insert(rng.integers(2), (dc, pool.plain_codes[d]))
    ids = [BOS]
    for cap, codes in docs:
        ids += T(cap) + img_tokens(codes) + [SEP]
    return ids + T(tgt[0]) + img_tokens(tgt[1]) + [EOS]


def doc_vqa(pool, rng):
    i = rng.integers(len(pool.plain))
    s = pool.plain[i]
    kind = list(world.VQA)[rng.integers(4)]
    return [BOS] + pool.read_image("plain", i, rng) + T(world.VQA[kind]) + [SEP] + T(vqa_answer(s, kind)) + [EOS]


def doc_edit(pool, rng):
    i = rng.integers(len(pool.edits))
    _, instr, _ = pool.edits[i]
    return [BOS] + pool.read_image("edit_src", i, rng) + T(instr) + [SEP] + img_tokens(pool.edit_tgt_codes[i]) + [EOS]


def doc_infill(pool, rng):
    s, codes = pool.any_scene(rng)
    cap = T(s.caption())
    img = [IMG0 + int(c) for c in codes]
    t2i = rng.random() < 0.5
    if rng.random() < 0.5:  # a run of caption words
        n = int(rng.integers(1, 4))
        a = int(rng.integers(0, len(cap) - n + 1))
        span = cap[a:a + n]
        cap = cap[:a] + [SENT0] + cap[a + n:]
    else:  # a run of image tokens (row-major)
        n = int(rng.integers(4, 17))
        a = int(rng.integers(0, 64 - n + 1))
        span = img[a:a + n]
        img = img[:a] + [SENT0] + img[a + n:]
    im = [BOI] + img + [EOI]
    body = cap + im if t2i else im + cap
    return [BOS] + body + [SENT0] + span + [SENT_END, EOS]


def sample_doc(pool, rng):
    u, acc = rng.random(), 0.0
    for kind, p in MIX:
        acc += p
        if u < acc:
            break
    if kind == "t2i":
        s, c = pool.any_scene(rng)
        return doc_t2i(s.caption(), c, rng)
    if kind == "t2i_part":
        i = rng.integers(len(pool.plain))
        return doc_t2i(partial_caption(pool.plain[i], rng), pool.plain_codes[i], rng, dropout=0.0)
    if kind == "i2t":
        redrawn = redraw(rng)
        s, kind, i = pool.pick(rng)
        return doc_i2t(s.caption(), pool.image_tokens(kind, i, redrawn))
    return {"retrieval": doc_retrieval, "vqa": doc_vqa, "edit": doc_edit, "infill": doc_infill}[kind](pool, rng)


def make_batch(pool, rng, n_docs, n_micro):
    """Sample n_docs documents, sort them by length and cut them into n_micro micro-batches, each padded to
    its longest document (padding sits after each document, so causal attention never sees it)."""
    docs = sorted((sample_doc(pool, rng) for _ in range(n_docs)), key=len)
    per = (n_docs + n_micro - 1) // n_micro
    out = []
    for i in range(0, n_docs, per):
        chunk = docs[i:i + per]
        L = max(len(d) for d in chunk)
        ids = torch.full((len(chunk), L), PAD, dtype=torch.long)
        tgt = torch.full((len(chunk), L), -100, dtype=torch.long)
        for r, d in enumerate(chunk):
            d = torch.tensor(d)
            ids[r, :len(d)] = torch.where(d < 0, -1 - d, d)
            tgt[r, :len(d) - 1] = torch.where(d[1:] < 0, -100, d[1:])  # unscored tokens have no target
        out.append((ids, tgt))
    return out


# ---------------------------------------------------------------- evaluation
IMG_IDS = torch.arange(IMG0, IMG0 + 256)


def _groups(prompts):
    g = {}
    for i, p in enumerate(prompts):
        g.setdefault(len(p), []).append(i)
    return g.items()


@torch.no_grad()
def sample_images(model, prompts, cfg=1.0, temperature=1.0, top_p=0.9, greedy=False, gen=None, cdk=None):
    """Image tokens for each prompt (token lists ending in <racm3:break>), with a KV cache.
    Classifier-free guidance mixes u + cfg * (c - u), u from the unconditional stream <s> <racm3:break>.
    cdk=(k, alpha): contrastive decoding top-k against that unconditional (amateur) stream, as the library's
    sampler chain does it: on V = {t : p(t) >= alpha * k-th largest p} sample from softmax(log p - log p_u),
    p the guided distribution.  Sampling is restricted to the 256 image-token ids.  Returns codes [N,64]."""
    dev = device_of(model)
    out = torch.zeros(len(prompts), 64, dtype=torch.long, device=dev)
    for L, idx in _groups(prompts):
        n = len(idx)
        rows = torch.tensor(idx, device=dev)
        cc = model.new_cache()
        lc = model(torch.tensor([prompts[i] for i in idx], device=dev), cc, 0)[:, -1]
        amateur = cfg != 1.0 or cdk is not None
        if amateur:
            cu = model.new_cache()
            lu = model(torch.tensor([[BOS, BOI]] * n, device=dev), cu, 0)[:, -1]
        for step in range(64):
            lg = lc[:, IMG0:IMG0 + 256]
            if amateur:
                u = lu[:, IMG0:IMG0 + 256]
                if cfg != 1.0:
                    lg = u + cfg * (lg - u)
            if cdk is not None:
                k, alpha = cdk
                lp = torch.log_softmax(lg, -1)
                kth = lp.topk(k, -1).values[:, -1:]
                sc = (lp - torch.log_softmax(u, -1)) / temperature
                sc = sc.masked_fill(lp < kth + math.log(alpha), float("-inf"))
                nxt = torch.multinomial(torch.softmax(sc, -1), 1, generator=gen)[:, 0]
            elif greedy:
                nxt = lg.argmax(-1)
            else:
                pr = torch.softmax(lg / temperature, -1)
                sp, si = pr.sort(-1, descending=True)
                sp[(sp.cumsum(-1) - sp) > top_p] = 0
                nxt = si.gather(1, torch.multinomial(sp, 1, generator=gen))[:, 0]
            out[rows, step] = nxt
            if step == 63:
                break
            tok = (IMG0 + nxt)[:, None]
            lc = model(tok, cc, L + step)[:, -1]
            if amateur:
                lu = model(tok, cu, 2 + step)[:, -1]
    return out.cpu()


@torch.no_grad()
def greedy_text(model, prefixes, max_new=12):
    """Greedy text continuation (image tokens excluded) until </s>; returns decoded strings."""
    res = [None] * len(prefixes)
    for L, idx in _groups(prefixes):
        cache = model.new_cache()
        lg = model(torch.tensor([prefixes[i] for i in idx], device=device_of(model)), cache, 0)[:, -1]
        outs = [[] for _ in idx]
        done = [False] * len(idx)
        for step in range(max_new):
            lg[:, IMG0:IMG0 + 256] = -1e30
            nxt = lg.argmax(-1)
            for j, t in enumerate(nxt.tolist()):
                if not done[j]:
                    if t == EOS:
                        done[j] = True
                    else:
                        outs[j].append(t)
            if all(done):
                break
            lg = model(nxt[:, None], cache, L + step)[:, -1]
        for j, i in enumerate(idx):
            res[i] = TOK.decode(outs[j])
    return res


def eval_t2i(model, vq, scenes, cfg, greedy=False, seed=0, retrieved=None, bs=100):
    gen = generator(model, seed)
    hits = {}
    for i in range(0, len(scenes), bs):
        chunk = scenes[i:i + bs]
        prompts = []
        for j, s in enumerate(chunk):
            p = [BOS]
            if retrieved is not None:
                for cap, codes in retrieved[i + j]:
                    p += T(cap) + img_tokens(codes) + [SEP]
            prompts.append(p + T(s.caption()) + [BOI])
        codes = sample_images(model, prompts, cfg=cfg, greedy=greedy, gen=gen)
        with torch.no_grad():
            imgs = postprocess(vq.decode_codes(codes.reshape(-1, 8, 8).to(device_of(vq))))
        for im, s in zip(imgs, chunk):
            for k, v in world.attr_hits(world.detect(im), s.attrs()).items():
                hits[k] = hits.get(k, 0) + v
    return {k: v / len(scenes) for k, v in hits.items()}


def eval_captions(model, scenes, codes):
    pred = greedy_text(model, [[BOS] + img_tokens(c) for c in codes])
    return sum(p == s.caption() for p, s in zip(pred, scenes)) / len(scenes)


def build_pool(args):
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    ck = load_checkpoint(args.vq)
    vq = VQModel(ck["config"])
    vq.load_state_dict(ck["state_dict"])
    vq.to(args.device).eval()
    return vq, Pool(vq, rng, args.pool, args.pool // 6, args.pool // 5)


class DocumentStream(torch.utils.data.IterableDataset):
    """Endless micro-batches of sampled documents; each loader worker draws from its own seeded stream."""

    def __init__(self, pool, seed, rank, n_docs, n_micro):
        self.pool, self.seed, self.rank, self.n_docs, self.n_micro = pool, seed, rank, n_docs, n_micro

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([self.seed, self.rank, info.id if info else 0])
        while True:
            yield make_batch(self.pool, rng, self.n_docs, self.n_micro)


def learning_rate(args, step, progress):
    """Linear warm-up over the first steps, then cosine to 10 % over the run (progress 0..1 of steps or time)."""
    warm = 20 if args.init else 100
    if step < warm:
        return args.lr * (step + 1) / warm
    return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def worker(rank, args, vq=None, pool=None):
    import torch.distributed as dist
    torch.set_num_threads(args.threads)
    world_size = args.procs
    dev = torch.device(args.device)
    configure(args)  # spawned processes import this module afresh
    if world_size > 1:
        dist.init_process_group("gloo", init_method=f"file://{os.path.abspath(args.out)}.rendezvous",
                                rank=rank, world_size=world_size)
    torch.manual_seed(args.seed)
    t0 = time.time()
    if pool is None:
        vq, pool = build_pool(args)

    model = ChameleonLM(LM_CONFIG)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if p.dim() == 2:
                p.normal_(0, 0.02)
        for l in model.model.layers:  # scaled init of the residual outputs
            l.self_attn.o_proj.weight.mul_(1 / math.sqrt(2 * LM_CONFIG["num_hidden_layers"]))
            l.mlp.down_proj.weight.mul_(1 / math.sqrt(2 * LM_CONFIG["num_hidden_layers"]))
    if args.init:  # continue training from a checkpoint (fresh optimizer, short warm-up, new cosine)
        model.load_state_dict(load_checkpoint(args.init)["state_dict"])
    model.to(dev)
    params = list(model.parameters())
    # no weight decay on embeddings: rows of names that training never shows must keep their random directions
    decay = [p for n, p in model.named_parameters() if p.dim() == 2 and "embed_tokens" not in n]
    nodecay = [p for n, p in model.named_parameters() if p.dim() != 2 or "embed_tokens" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": nodecay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95))
    loader = torch.utils.data.DataLoader(
        DocumentStream(pool, args.seed, rank, args.docs, args.micro), batch_size=None, num_workers=args.workers,
        pin_memory=dev.type == "cuda", **({"prefetch_factor": 4, "persistent_workers": True} if args.workers else {}))
    batches = iter(loader)
    if rank == 0:
        print(f"params {sum(p.numel() for p in params) / 1e6:.2f} M, vocab {VOCAB}, processes {world_size}, "
              f"device {dev}, loader workers {args.workers}", flush=True)
    log = []
    t1 = time.time()
    ntok = 0
    step = 0
    budget = args.minutes * 60 if args.minutes else None
    while True:
        progress = (time.time() - t1) / budget if budget else step / max(1, args.steps)
        if world_size > 1 and budget:  # every process stops at the same step
            pt = torch.tensor(progress)
            dist.all_reduce(pt, op=dist.ReduceOp.MAX)
            progress = pt.item()
        if progress >= 1.0 or step >= args.steps:
            break
        lr = learning_rate(args, step, progress)
        for g in opt.param_groups:
            g["lr"] = lr
        micro = next(batches)
        n_t = torch.tensor(float(sum(int((t >= 0).sum()) for _, t in micro)))
        if world_size > 1:
            dist.all_reduce(n_t)
        opt.zero_grad(set_to_none=False)
        tot = torch.zeros((), device=dev)
        for ids, tgt in micro:
            ids, tgt = ids.to(dev, non_blocking=True), tgt.to(dev, non_blocking=True)
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=args.bf16):
                logits = model(ids)
            loss = F.cross_entropy(logits.reshape(-1, VOCAB), tgt.reshape(-1), ignore_index=-100,
                                   reduction="sum") / n_t.item()
            loss.backward()
            tot += loss.detach()
        if world_size > 1:
            flat = torch.cat([p.grad.reshape(-1) for p in params])
            dist.all_reduce(flat)
            o = 0
            for p in params:
                p.grad.copy_(flat[o:o + p.numel()].view_as(p))
                o += p.numel()
            dist.all_reduce(tot)
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        ntok += int(n_t)
        if rank == 0 and (step % args.log_every == 0):
            msg = dict(step=step, loss=round(tot.item(), 4), lr=round(lr, 6), sec=round(time.time() - t1, 1),
                       tok_s=round(ntok / (time.time() - t1)))
            print(json.dumps(msg), flush=True)
            log.append(msg)
        if rank == 0 and step % args.save_every == args.save_every - 1:
            torch.save({"config": LM_CONFIG, "state_dict": cpu_state(model, args.save_bf16), "step": step},
                       args.out + ".partial")
        step += 1
    if world_size > 1:
        dist.barrier()
        dist.destroy_process_group()
    if rank != 0:
        return
    msg = dict(step=step, loss=round(tot.item(), 4), sec=round(time.time() - t1, 1), tok_s=round(ntok / (time.time() - t1)))
    print(json.dumps(msg), flush=True)
    log.append(msg)
    train_min = (time.time() - t1) / 60
    ck = {"config": LM_CONFIG, "state_dict": cpu_state(model, args.save_bf16), "log": log, "train_minutes": train_min,
          "mix": MIX, "p_named": P_NAMED, "p_anon": P_ANON, "p_exact": P_EXACT, "p_near": P_NEAR,
          "p_heldout_names": P_HELDOUT_NAMES, "p_redrawn": P_REDRAWN,
          "pool_minutes": (t1 - t0) / 60, "seed": args.seed, "steps": step, "procs": world_size,
          "docs_per_step": args.docs * world_size, "tokens": ntok, "init": args.init, "lr": args.lr,
          "device": str(dev), "pool": args.pool}
    torch.save(ck, args.out)
    print(f"saved {args.out}; training {train_min:.1f} min, {step} steps, {ntok} tokens", flush=True)
    if args.eval_n <= 0:
        return

    model.eval()
    erng = np.random.default_rng(12345)
    scenes = [world.random_heldout_scene(erng) for _ in range(args.eval_n)]
    codes = encode_scenes(vq, scenes)
    te = time.time()
    res = {"captions_exact": eval_captions(model, scenes, codes)}
    print("captions", res, f"{time.time() - te:.0f}s", flush=True)
    for cfg in (1.0, 1.5, 3.0):
        te = time.time()
        res[f"t2i_cfg{cfg}"] = eval_t2i(model, vq, scenes, cfg, seed=1)
        print(cfg, res[f"t2i_cfg{cfg}"], f"{time.time() - te:.0f}s", flush=True)
    ck["eval"] = res
    torch.save(ck, args.out)
    print("EVAL", json.dumps(res), flush=True)


def configure(args):
    """The decoder's shape and the document mix from the command line: heads of 32, two query heads per key/value head."""
    global MIX, P_NAMED, P_ANON, P_EXACT, P_NEAR, P_HELDOUT_NAMES, P_REDRAWN
    if args.mix:
        MIX = [(k, float(v)) for k, v in (kv.split("=") for kv in args.mix.split(","))]
        assert abs(sum(p for _, p in MIX) - 1) < 1e-6 and {k for k, _ in MIX} <= {"t2i", "t2i_part", "i2t", "retrieval", "vqa", "edit", "infill"}, args.mix
    P_NAMED, P_ANON, P_EXACT, P_NEAR, P_HELDOUT_NAMES, P_REDRAWN = (args.p_named, args.p_anon, args.p_exact, args.p_near,
                                                                    args.p_heldout_names, args.p_redrawn)
    LM_CONFIG.update(num_hidden_layers=args.layers, hidden_size=args.hidden, intermediate_size=args.inter,
                     num_attention_heads=args.hidden // 32, num_key_value_heads=args.hidden // 64)


def cpu_state(model, bf16):
    """The state dict on the CPU; in bf16 when asked (the demo ships bf16 weights, so nothing is lost)."""
    return {k: (v.detach().to("cpu", torch.bfloat16) if bf16 and v.is_floating_point() else v.detach().cpu())
            for k, v in model.state_dict().items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vq", default="runs/vq.pt")
    ap.add_argument("--out", default="runs/lm.pt")
    ap.add_argument("--steps", type=int, default=380, help="training steps (the most, with --minutes)")
    ap.add_argument("--minutes", type=float, default=None,
                    help="train for this wall-clock time instead: the cosine schedule follows elapsed time")
    ap.add_argument("--docs", type=int, default=16, help="documents per step and process")
    ap.add_argument("--micro", type=int, default=2)
    ap.add_argument("--procs", type=int, default=2, help="data-parallel processes (gloo), one thread each")
    ap.add_argument("--workers", type=int, default=0, help="document-sampling processes per training process")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--pool", type=int, default=8000)
    ap.add_argument("--layers", type=int, default=LM_CONFIG["num_hidden_layers"])
    ap.add_argument("--hidden", type=int, default=LM_CONFIG["hidden_size"], help="model width (heads of 32)")
    ap.add_argument("--inter", type=int, default=LM_CONFIG["intermediate_size"], help="SwiGLU width")
    ap.add_argument("--eval_n", type=int, default=200)
    ap.add_argument("--log_every", type=int, default=50)
    ap.add_argument("--save_every", type=int, default=100)
    ap.add_argument("--save_bf16", action="store_true", help="store the weights in bf16 (as the demo ships them)")
    ap.add_argument("--init", default=None, help="continue from this LM checkpoint")
    ap.add_argument("--mix", default=None, help="document mix, e.g. t2i=0.3,i2t=0.25,retrieval=0.2,vqa=0.08,edit=0.09,infill=0.08")
    ap.add_argument("--p_named", type=float, default=P_NAMED, help="retrieval documents with a named target")
    ap.add_argument("--p_anon", type=float, default=P_ANON, help="of those, the share with an anonymous name")
    ap.add_argument("--p_exact", type=float, default=P_EXACT,
                    help="retrieval documents whose retrieved picture shares the target's placement")
    ap.add_argument("--p_near", type=float, default=P_NEAR,
                    help="of the other retrieval documents, the share whose picture differs in one named attribute")
    ap.add_argument("--p_heldout_names", type=float, default=P_HELDOUT_NAMES,
                    help="of the anonymous-name documents, the share that use a held-out sticker's name")
    ap.add_argument("--p_redrawn", type=float, default=P_REDRAWN,
                    help="captions, VQA and edit sources that read the codes of the picture's redrawn picture instead")
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast (GPUs, or CPUs with fast bf16)")
    args = ap.parse_args()
    configure(args)
    rdv = os.path.abspath(args.out) + ".rendezvous"
    if os.path.exists(rdv):
        os.remove(rdv)
    t0 = time.time()
    vq, pool = build_pool(args)  # encoded once, shared with the workers
    print(f"pool encoded in {time.time() - t0:.0f}s", flush=True)
    if args.procs > 1:
        torch.multiprocessing.spawn(worker, args=(args, vq, pool), nprocs=args.procs)
    else:
        worker(0, args, vq, pool)


if __name__ == "__main__":
    main()
