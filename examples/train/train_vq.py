"""Train the image tokenizer: a Chameleon-architecture VQ-GAN, 32x32 -> 8x8 codes, codebook 256.

Recipe: fresh renders each step (batch 48), pixel MSE + 0.25 commitment, EMA codebook (decay 0.95)
initialised from the first batch's encoder outputs, dead codes restarted at encoder outputs drawn in
proportion to their quantisation error, Adam lr 2e-3 betas (0.9, 0.99), 50-step warm-up then cosine
to 10 %.  Runs in float32: on this CPU PyTorch's float32 convolutions go through oneDNN and are far
faster than its bf16 ones (autocast is used for the language model's matrix products instead).

Locality: the encoder's 3x3 convolutions at the 8x8 level (and its conv_out) are constrained to their
centre tap and the encoder's middle attention is switched off (proj_out = 0).  The architecture is
unchanged -- these are just weights that happen to be zero -- but each code then depends only on its
own 4x4 patch and a few pixels around it, like a patch tokenizer, which makes the codes much easier
for the language model to predict.

Option --local (localvq.py): GroupNorm's statistics over the whole picture make every code depend on all of it;
--local trains the network without them and stores it exactly as a Chameleon VQ-GAN with twin channels (base 64).
--local_decoder and --colour_probe are experiments on top of it (see the training README).

Option --one_white (experimental, NOT used for the shipped model): initialise one code for pure-white
4x4 patches and 255 from other patches, re-seed dead codes and white-majority codes only at latents of
non-white patches.  Meant to stop the codebook from spending most codes on image-dependent variations
of the white background; in our runs it collapsed the codebook late in training.

Shipped model:

    python3 train_vq.py --out runs/vq.pt --steps 450 --batch 48 --seed 1
"""
import argparse, json, math, os, time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np
import torch
import torch.nn.functional as F

import world
from vqgan import VQModel, preprocess, postprocess
import localvq

VQ_CONFIG = dict(
    model_type="chameleon_vqgan", embed_dim=16, num_embeddings=256, latent_channels=32, base_channels=32,
    channel_multiplier=[1, 1, 2], num_res_blocks=1, attn_resolutions=[], resolution=32, in_channels=3,
    out_channels=3, double_latent=False, dropout=0.0,
)


def target_of(u8):
    # Meta's postprocess truncates (x+1)/2*255: aim at the pixel centre so truncation gives back u8.
    t = torch.from_numpy(u8).permute(0, 3, 1, 2).float()
    return (t + 0.5) / 127.5 - 1.0


def local_masks(model):
    """name -> mask for encoder parameters constrained to the centre tap (or to zero)."""
    enc = model.encoder
    masks = {}
    centre = torch.zeros(3, 3)
    centre[1, 1] = 1
    last = enc.down[len(enc.down) - 1]
    convs = []
    for b in list(last.block) + [enc.mid.block_1, enc.mid.block_2]:
        convs += [b.conv1, b.conv2]
    convs.append(enc.conv_out)
    for c in convs:
        masks[c.weight] = centre.to(c.weight.device).expand_as(c.weight).clone()
    masks[enc.mid.attn_1.proj_out.weight] = torch.zeros_like(enc.mid.attn_1.proj_out.weight)
    masks[enc.mid.attn_1.proj_out.bias] = torch.zeros_like(enc.mid.attn_1.proj_out.bias)
    return masks


def evaluate(model, n=1000, seed=999):
    rng = np.random.default_rng(seed)
    imgs, scenes = world.render_batch(rng, n)
    model.eval()
    dev = next(model.parameters()).device
    with torch.no_grad():
        codes = torch.cat([model.encode(preprocess(imgs[i:i + 200]).to(dev)) for i in range(0, n, 200)])
        rec = np.concatenate([postprocess(model.decode_codes(codes[i:i + 200])) for i in range(0, n, 200)])
        codes = codes.cpu()
    hits = {}
    for im, s in zip(rec, scenes):
        for k, v in world.attr_hits(world.detect(im), s.attrs()).items():
            hits[k] = hits.get(k, 0) + v
    used = len(torch.unique(codes))
    # how concentrated are pure-white 4x4 patches?
    white = (imgs.reshape(n, 8, 4, 8, 4, 3) == 255).all(axis=(2, 4, 5))
    wc = codes.numpy()[white]
    top = np.bincount(wc, minlength=256).max() / max(1, len(wc))
    mse = float(((rec.astype(np.float32) - imgs.astype(np.float32)) ** 2).mean())
    model.train()
    return dict({k: v / n for k, v in hits.items()}, codes_used=used, white_top_code=float(top), pixel_mse=mse)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="runs/vq.pt")
    ap.add_argument("--steps", type=int, default=1100)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--minutes", type=float, default=None,
                    help="train for this wall-clock time (at most --steps): the cosine schedule follows elapsed time")
    ap.add_argument("--log_every", type=int, default=50)
    ap.add_argument("--init", default=None, help="start from this checkpoint (second stage)")
    ap.add_argument("--local", action="store_true",
                    help="codes that depend on their neighbourhood only: train localvq's logical network and store "
                         "it as a Chameleon VQ-GAN with twice the channels")
    ap.add_argument("--local_decoder", action="store_true",
                    help="with --local: the decoder without global statistics too, its code-grid convolutions "
                         "restricted to their centre tap")
    ap.add_argument("--colour_probe", type=float, default=0.0,
                    help="weight of a loss that reads each cell's colour linearly from its latent, so that codes "
                         "carry their own patch's colour")
    ap.add_argument("--one_white", action="store_true",
                    help="keep a single code for pure-white patches: white-majority codes are re-seeded elsewhere")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    dev = torch.device(args.device)
    model = localvq.logical_model(VQ_CONFIG, args.local_decoder) if args.local else VQModel(VQ_CONFIG)
    if args.init:
        ck = torch.load(args.init, map_location="cpu")
        model.load_state_dict(ck["logical_state_dict"] if args.local else ck["state_dict"])
    model.to(dev)
    masks = local_masks(model)
    if args.local:
        masks.update(localvq.attention_off_masks(model))
        if args.local_decoder:
            masks.update(localvq.decoder_centre_masks(model))
    with torch.no_grad():
        for p, m in masks.items():
            p.mul_(m)
    cb = model.quantize.embedding.weight
    cb.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    probe = None
    if args.colour_probe:  # a linear read of each cell's colour from its latent, trained beside the tokenizer
        probe = torch.nn.Conv2d(VQ_CONFIG["embed_dim"], len(world.COLOUR_NAMES) + 1, 1).to(dev)
        params += list(probe.parameters())
    opt = torch.optim.Adam(params, lr=args.lr, betas=(0.9, 0.99))
    K, D = cb.shape
    ema_count = torch.ones(K, device=dev)
    ema_white = torch.zeros(K, device=dev)
    ema_sum = cb.detach().clone()
    usage = torch.full((K,), 1.0 / K, device=dev)
    decay = 0.95
    t0 = time.time()
    log = []
    budget = args.minutes * 60 if args.minutes else None
    step = 0
    while True:
        # progress through the run: by steps, or by wall-clock time under --minutes
        progress = (time.time() - t0) / budget if budget else step / args.steps
        if progress >= 1.0 or step >= args.steps:
            break
        w0 = 0 if args.init else 50
        lr = args.lr * (step + 1) / w0 if step < w0 else \
            args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))
        for g in opt.param_groups:
            g["lr"] = lr
        imgs, batch_scenes = world.render_batch(rng, args.batch)
        x = preprocess(imgs).to(dev, non_blocking=True)
        tgt = target_of(imgs).to(dev, non_blocking=True)
        z = model.encode_latent(x).float()
        zf = z.permute(0, 2, 3, 1).reshape(-1, D)
        white = torch.from_numpy((imgs.reshape(-1, 8, 4, 8, 4, 3) == 255).all(axis=(2, 4, 5)).reshape(-1)).to(dev)
        if step == 0 and not args.init:
            with torch.no_grad():
                if args.one_white:  # one code for white, the rest from latents of non-white patches
                    nw = torch.nonzero(~white).flatten().cpu().numpy()
                    cb[1:] = zf[torch.from_numpy(rng.choice(nw, K - 1, replace=False)).to(dev)]
                    cb[0] = zf[white].mean(0)
                else:
                    cb.copy_(zf[torch.from_numpy(rng.choice(len(zf), K, replace=False)).to(dev)])
                ema_sum.copy_(cb)
        with torch.no_grad():
            d = (zf ** 2).sum(1, keepdim=True) + (cb ** 2).sum(1)[None] - 2 * zf @ cb.t()
            dmin, idx = d.min(1)
            onehot = F.one_hot(idx, K).float()
            cnt = onehot.sum(0)
            ema_count.mul_(decay).add_(cnt, alpha=1 - decay)
            ema_white.mul_(decay).add_(onehot[white].sum(0), alpha=1 - decay)
            ema_sum.mul_(decay).add_(onehot.t() @ zf, alpha=1 - decay)
            n = ema_count.sum()
            cnt_s = (ema_count + 1e-5) / (n + K * 1e-5) * n
            cb.copy_(ema_sum / cnt_s[:, None])
            usage.mul_(0.99).add_(cnt / cnt.sum(), alpha=0.01)
            if step % 10 == 9 and progress < 0.85:
                dead = usage < 0.03 / K
                if args.one_white:
                    wshare = ema_white / ema_count.clamp_min(1e-8)
                    extra = wshare > 0.5
                    extra[int(ema_white.argmax())] = False
                    dead |= extra
                dead = torch.nonzero(dead).flatten()
                if len(dead):
                    w = dmin.clamp_min(1e-8).double().cpu().numpy()
                    if args.one_white:  # re-seed only at latents of patches that are not pure white
                        w = w * (~white).double().cpu().numpy()
                    pick = rng.choice(len(zf), len(dead), replace=False, p=w / w.sum())
                    new = zf[torch.from_numpy(pick).to(dev)]
                    cb[dead] = new
                    ema_sum[dead] = new
                    ema_count[dead] = 1.0
                    ema_white[dead] = 0.0
                    usage[dead] = 1.0 / K
        q = cb[idx].reshape(z.shape[0], z.shape[2], z.shape[3], D).permute(0, 3, 1, 2)
        commit = F.mse_loss(z, q)
        zq = z + (q - z).detach()
        rec = model.decoder(model.post_quant_conv(zq)).float()
        mse = F.mse_loss(rec, tgt)
        loss = mse + 0.25 * commit
        if probe is not None:  # cells with any pixel of the shape: its colour; the others: white (last class)
            inked = torch.from_numpy((imgs.reshape(-1, 8, 4, 8, 4, 3) != 255).any(axis=(2, 4, 5))).to(dev)
            colour = torch.tensor([world.COLOUR_NAMES.index(s.colour) for s in batch_scenes], device=dev)
            target = torch.where(inked, colour[:, None, None], torch.full_like(colour[:, None, None], len(world.COLOUR_NAMES)))
            loss = loss + args.colour_probe * F.cross_entropy(probe(z), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        for p, m in masks.items():
            if p.grad is not None:
                p.grad.mul_(m)
        opt.step()
        with torch.no_grad():
            for p, m in masks.items():
                p.mul_(m)
        if step % args.log_every == 0:
            msg = dict(step=step, mse=round(mse.item(), 5), commit=round(commit.item(), 5),
                       white_codes=int((ema_white / ema_count.clamp_min(1e-8) > 0.5).sum()),
                       used=int((usage > 0.03 / K).sum()), lr=round(lr, 6), sec=round(time.time() - t0, 1))
            print(json.dumps(msg), flush=True)
            log.append(msg)
        if step % 500 == 499:
            torch.save({"config": VQ_CONFIG, "state_dict": model.state_dict(), "step": step}, args.out + ".partial")
        step += 1
    ev = evaluate(model)
    print("EVAL", json.dumps(ev), flush=True)
    config, state = VQ_CONFIG, {k: v.cpu() for k, v in model.state_dict().items()}
    logical = {"logical_state_dict": state} if args.local else {}
    if args.local:  # stored as Chameleon's architecture; the stored network is checked against the trained one
        model.cpu()
        config, state = localvq.to_chameleon(model, VQ_CONFIG)
        imgs, _ = world.render_batch(np.random.default_rng(7), 200)
        ev["stored_vs_trained"] = localvq.check_conversion(model, config, state, preprocess(imgs))
        stored = VQModel(config)
        stored.load_state_dict(state)
        ev["stored"] = evaluate(stored)
        print("STORED", json.dumps(ev["stored_vs_trained"]), json.dumps(ev["stored"]), flush=True)
    torch.save({"config": config, "state_dict": state, "eval": ev, "log": log, "batch": args.batch,
                "minutes": (time.time() - t0) / 60, "seed": args.seed, "steps": step, "device": str(dev), **logical}, args.out)
    print("saved", args.out, f"{(time.time() - t0) / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
