"""A VQ-GAN whose codes are local, stored in Chameleon's architecture.

Chameleon's VQ-GAN normalises with GroupNorm(32 groups): statistics over the whole picture. In a small encoder (32
channels, one channel per group) that makes every code depend on the whole picture: a white cell far from the shape
gets a code that tells the shape's colour (diagnose.py --part locality), so a caption's picture is a pattern of codes
learnt as a unit, and a caption never seen in training needs codes in places the decoder has never drawn them.

Here the tokenizer is trained as a *logical* network without global statistics and then written, exactly, as a
Chameleon VQ-GAN with twice the channels (base 64 for a logical 32):

- every activation that GroupNorm reads is stored as a twin pair (x, -x) in one group, so the group's mean is 0;
- in the encoder, activations are scaled by S = 1e-7, so the group's variance (< 1e-10) vanishes beside GroupNorm's
  epsilon (1e-6) and the norm is the fixed affine map x -> (x / sqrt(eps)) * gamma + beta: nothing global is left;
- in the decoder, which may see the whole picture, the norm is then an RMS over each group without the mean
  (GroupRMS), which the logical decoder is trained with.

After a norm both twins hold the same value, so a convolution reads the first twin and writes a twin pair. The
middle attention blocks are off (zero output projections), as in the shipped tokenizer's encoder.
"""
import math

import torch
import torch.nn as nn

from vqgan import VQModel

EPS = 1e-6
S = 1e-7  # encoder activation scale in the stored network


class AffineNorm(nn.Module):
    """The encoder's norm in the logical network: what a twin GroupNorm computes in the epsilon regime."""

    def __init__(self, c):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))

    def forward(self, x):  # x [B, C, H, W]
        return x * self.weight[:, None, None] + self.bias[:, None, None]


class GroupRMS(nn.Module):
    """The decoder's norm in the logical network: GroupNorm of twin pairs, an RMS per group (32) without the mean."""

    def __init__(self, c, groups=32):
        super().__init__()
        self.groups = groups
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))

    def forward(self, x):  # x [B, C, H, W]
        b, c, h, w = x.shape
        g = x.float().reshape(b, self.groups, c // self.groups, h, w)
        ms = g.pow(2).mean(dim=(2, 3, 4), keepdim=True)
        y = (g * torch.rsqrt(ms + EPS)).reshape(b, c, h, w)
        return y * self.weight[:, None, None] + self.bias[:, None, None]


def logical_model(cfg, local_decoder=False):
    """Chameleon's VQ-GAN with the logical norms: AffineNorm in the encoder, GroupRMS in the decoder (AffineNorm
    too with local_decoder, so that what a code draws does not depend on the rest of the picture either)."""
    model = VQModel(cfg)
    model.local_decoder = local_decoder
    for part, make in ((model.encoder, AffineNorm), (model.decoder, AffineNorm if local_decoder else GroupRMS)):
        for parent in list(part.modules()):
            for name, child in list(parent.named_children()):
                if isinstance(child, nn.GroupNorm):
                    setattr(parent, name, make(child.num_channels))
    return model


def decoder_centre_masks(model):
    """Centre-tap masks for the decoder's 3x3 convolutions at the code grid (8x8): a code draws its own patch."""
    dec = model.decoder
    centre = torch.zeros(3, 3)
    centre[1, 1] = 1
    convs = [dec.conv_in]
    for b in [dec.mid.block_1, dec.mid.block_2] + list(dec.up[len(dec.up) - 1].block):
        convs += [b.conv1, b.conv2]
    return {c.weight: centre.expand_as(c.weight).clone() for c in convs}


def attention_off_masks(model):
    """Zero masks for the decoder's middle attention output projection (train_vq.local_masks already switches the
    encoder's off; the logical network has no twin form for attention, and does not need it)."""
    attn = model.decoder.mid.attn_1
    return {attn.proj_out.weight: torch.zeros_like(attn.proj_out.weight),
            attn.proj_out.bias: torch.zeros_like(attn.proj_out.bias)}


def _twin_out(w):
    """[O, ...] -> [2O, ...]: rows o and -o interleaved."""
    return torch.stack([w, -w], 1).reshape(2 * w.shape[0], *w.shape[1:])


def _first_in(w):
    """Conv weight [O, I, kh, kw] -> [O, 2I, kh, kw]: reads the first of each input twin."""
    out = torch.zeros(w.shape[0], 2 * w.shape[1], *w.shape[2:], dtype=w.dtype)
    out[:, 0::2] = w
    return out


def to_chameleon(logical, cfg):
    """The logical network as Chameleon VQ-GAN weights: (config, state dict) computing the same codes and pictures."""
    phys_cfg = dict(cfg, base_channels=2 * cfg["base_channels"])
    src = {k: v.detach().float().cpu() for k, v in logical.state_dict().items()}
    local_decoder = getattr(logical, "local_decoder", False)
    out = {}
    ref = VQModel(phys_cfg).state_dict()
    for name, p in ref.items():
        out[name] = torch.zeros_like(p)
    for name in ref:
        if not name.endswith(".weight"):
            continue
        mod = name[:-len(".weight")]
        w, b = src[mod + ".weight"], src.get(mod + ".bias")
        scaled = mod.startswith("encoder.") or (mod.startswith("decoder.") and local_decoder)  # epsilon regime
        if mod.startswith("quantize.") or mod in ("quant_conv", "post_quant_conv"):  # no twins there
            out[name] = w
            if b is not None:
                out[mod + ".bias"] = b
            continue
        if ".attn_1." in mod:
            if mod.endswith(".norm"):
                out[name] = torch.ones_like(ref[name])
            continue  # q, k, v, proj_out stay zero: attention off
        leaf = mod.rsplit(".", 1)[-1]
        if leaf.startswith("norm"):
            if scaled:  # epsilon regime: twin input (S x, -S x) -> x * a + b
                g = w * math.sqrt(EPS) / S
                out[mod + ".weight"] = torch.stack([g, -g], 1).reshape(-1)
            else:  # RMS regime on twins: same statistics, the twin's gamma negated
                out[mod + ".weight"] = torch.stack([w, -w], 1).reshape(-1)
            out[mod + ".bias"] = torch.stack([b, b], 1).reshape(-1)
            continue
        # a convolution: which side is twinned, and at which scale
        reads_raw = mod in ("encoder.conv_in", "decoder.conv_in")
        writes_raw = mod in ("encoder.conv_out", "decoder.conv_out")
        reads_norm = leaf in ("conv1", "conv2") or writes_raw  # after a norm: a normal-scale value
        wp = w if reads_raw else _first_in(w)
        bp = b.clone()
        if scaled and not writes_raw:  # writes a residual stream or a norm's input, at scale S
            if reads_raw or reads_norm:
                wp = wp * S
            bp = bp * S
        if not writes_raw:
            wp, bp = _twin_out(wp), _twin_out(bp)
        assert wp.shape == ref[name].shape, (name, wp.shape, ref[name].shape)
        out[mod + ".weight"], out[mod + ".bias"] = wp, bp
    return phys_cfg, out


def check_conversion(logical, phys_cfg, state, x):
    """Codes equal and pictures within float rounding: the stored network computes what the logical one did."""
    phys = VQModel(phys_cfg)
    phys.load_state_dict(state)
    phys.eval()
    logical.eval()
    with torch.no_grad():
        zl, zp = logical.encode_latent(x), phys.encode_latent(x)
        cl, cp = logical.quantize.codes(zl), phys.quantize.codes(zp)
        rl, rp = logical.decode_codes(cl), phys.decode_codes(cl)
    return dict(latent_max_rel=float((zl - zp).abs().max() / zl.abs().max()),
                codes_equal=float((cl == cp).float().mean()),
                picture_max_abs=float((rl - rp).abs().max()))
