"""A Chameleon-architecture VQ-GAN (encoder, quant_conv, codebook, post_quant_conv, decoder).

Module names follow the Chameleon checkpoint layout so that ``state_dict()`` keys are exactly the
checkpoint's tensor names (``encoder.down.1.block.0.conv1.weight``, ``decoder.mid.attn_1.q.weight``,
``quantize.embedding.weight`` ...).  Written from the architecture description: GroupNorm(32, eps 1e-6),
swish, 3x3 convs, pad-right/bottom stride-2 downsampling, nearest x2 upsampling, single-head
spatial attention in the middle block (and at ``attn_resolutions``).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def norm(c):
    return nn.GroupNorm(32, c, eps=1e-6, affine=True)


def gn(layer, x):
    # GroupNorm in float32 (CPU autocast in torch 1.13 rejects it in bf16).
    if not isinstance(layer, nn.GroupNorm):  # a training-time stand-in (localvq.py)
        return layer(x.float())
    return F.group_norm(x.float(), layer.num_groups, layer.weight, layer.bias, layer.eps)


def swish(x):
    return x * torch.sigmoid(x)


class ResnetBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.norm1 = norm(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, 1, 1)
        self.norm2 = norm(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        if cin != cout:
            self.nin_shortcut = nn.Conv2d(cin, cout, 1)
        self.cin, self.cout = cin, cout

    def forward(self, x):
        h = self.conv1(swish(gn(self.norm1, x)))
        h = self.conv2(swish(gn(self.norm2, h)))
        if self.cin != self.cout:
            x = self.nin_shortcut(x)
        return x + h


class AttnBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm = norm(c)
        self.q = nn.Conv2d(c, c, 1)
        self.k = nn.Conv2d(c, c, 1)
        self.v = nn.Conv2d(c, c, 1)
        self.proj_out = nn.Conv2d(c, c, 1)

    def forward(self, x):
        h = gn(self.norm, x)
        q, k, v = self.q(h), self.k(h), self.v(h)
        b, c, hh, ww = q.shape
        q = q.reshape(b, c, hh * ww).permute(0, 2, 1)
        k = k.reshape(b, c, hh * ww)
        w = torch.bmm(q, k) * (int(c) ** (-0.5))
        w = torch.softmax(w.float(), dim=2)
        v = v.reshape(b, c, hh * ww)
        o = torch.bmm(v, w.permute(0, 2, 1).to(v.dtype)).reshape(b, c, hh, ww)
        return x + self.proj_out(o)


class Downsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 2, 0)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Upsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 1, 1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Encoder(nn.Module):
    def __init__(self, ch, ch_mult, num_res_blocks, attn_resolutions, in_channels, resolution, z_channels):
        super().__init__()
        self.conv_in = nn.Conv2d(in_channels, ch, 3, 1, 1)
        self.down = nn.ModuleList()
        in_mult = (1,) + tuple(ch_mult)
        res = resolution
        block_in = ch
        for i, m in enumerate(ch_mult):
            lvl = nn.Module()
            lvl.block, lvl.attn = nn.ModuleList(), nn.ModuleList()
            block_in, block_out = ch * in_mult[i], ch * m
            for _ in range(num_res_blocks):
                lvl.block.append(ResnetBlock(block_in, block_out))
                block_in = block_out
                if res in attn_resolutions:
                    lvl.attn.append(AttnBlock(block_in))
            if i != len(ch_mult) - 1:
                lvl.downsample = Downsample(block_in)
                res //= 2
            self.down.append(lvl)
        self.mid = nn.Module()
        self.mid.block_1 = ResnetBlock(block_in, block_in)
        self.mid.attn_1 = AttnBlock(block_in)
        self.mid.block_2 = ResnetBlock(block_in, block_in)
        self.norm_out = norm(block_in)
        self.conv_out = nn.Conv2d(block_in, z_channels, 3, 1, 1)
        self.n = len(ch_mult)

    def forward(self, x):
        h = self.conv_in(x)
        for i, lvl in enumerate(self.down):
            for j, b in enumerate(lvl.block):
                h = b(h)
                if len(lvl.attn) > 0:
                    h = lvl.attn[j](h)
            if i != self.n - 1:
                h = lvl.downsample(h)
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(h)))
        return self.conv_out(swish(gn(self.norm_out, h)))


class Decoder(nn.Module):
    def __init__(self, ch, ch_mult, num_res_blocks, attn_resolutions, out_ch, resolution, z_channels):
        super().__init__()
        n = len(ch_mult)
        block_in = ch * ch_mult[-1]
        res = resolution // 2 ** (n - 1)
        self.conv_in = nn.Conv2d(z_channels, block_in, 3, 1, 1)
        self.mid = nn.Module()
        self.mid.block_1 = ResnetBlock(block_in, block_in)
        self.mid.attn_1 = AttnBlock(block_in)
        self.mid.block_2 = ResnetBlock(block_in, block_in)
        up = [None] * n
        for i in reversed(range(n)):
            lvl = nn.Module()
            lvl.block, lvl.attn = nn.ModuleList(), nn.ModuleList()
            block_out = ch * ch_mult[i]
            for _ in range(num_res_blocks + 1):
                lvl.block.append(ResnetBlock(block_in, block_out))
                block_in = block_out
                if res in attn_resolutions:
                    lvl.attn.append(AttnBlock(block_in))
            if i != 0:
                lvl.upsample = Upsample(block_in)
                res *= 2
            up[i] = lvl
        self.up = nn.ModuleList(up)
        self.norm_out = norm(block_in)
        self.conv_out = nn.Conv2d(block_in, out_ch, 3, 1, 1)
        self.n = n

    def forward(self, z):
        h = self.conv_in(z)
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(h)))
        for i in reversed(range(self.n)):
            lvl = self.up[i]
            for j, b in enumerate(lvl.block):
                h = b(h)
                if len(lvl.attn) > 0:
                    h = lvl.attn[j](h)
            if i != 0:
                h = lvl.upsample(h)
        return self.conv_out(swish(gn(self.norm_out, h)))


class Quantize(nn.Module):
    def __init__(self, n_embed, dim):
        super().__init__()
        self.embedding = nn.Embedding(n_embed, dim)

    def codes(self, z):
        """z [B,C,H,W] -> indices [B,H,W] by |z|^2 + |e|^2 - 2 z.e (float32)."""
        b, c, h, w = z.shape
        zf = z.float().permute(0, 2, 3, 1).reshape(-1, c)
        e = self.embedding.weight.float()
        d = (zf ** 2).sum(1, keepdim=True) + (e ** 2).sum(1)[None] - 2 * zf @ e.t()
        return d.argmin(1).reshape(b, h, w)

    def lookup(self, idx):
        """indices [B,H,W] -> [B,C,H,W]."""
        return self.embedding.weight[idx].permute(0, 3, 1, 2)


class VQModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        ch, mult, nrb = cfg["base_channels"], cfg["channel_multiplier"], cfg["num_res_blocks"]
        attn, res, lat, emb = cfg["attn_resolutions"], cfg["resolution"], cfg["latent_channels"], cfg["embed_dim"]
        self.encoder = Encoder(ch, mult, nrb, attn, cfg["in_channels"], res, lat)
        self.decoder = Decoder(ch, mult, nrb, attn, cfg["out_channels"], res, lat)
        self.quantize = Quantize(cfg["num_embeddings"], emb)
        self.quant_conv = nn.Conv2d(lat, emb, 1)
        self.post_quant_conv = nn.Conv2d(emb, lat, 1)

    def encode_latent(self, x):
        return self.quant_conv(self.encoder(x))

    def encode(self, x):
        return self.quantize.codes(self.encode_latent(x))

    def decode_codes(self, idx):
        return self.decoder(self.post_quant_conv(self.quantize.lookup(idx)))


def preprocess(u8):
    """uint8 [B,32,32,3] numpy -> float32 [B,3,32,32] exactly as HF ChameleonImageProcessor (u8*0.0078 - 1)."""
    t = torch.from_numpy(u8).permute(0, 3, 1, 2).contiguous()
    return (t.double() * 0.0078).float() - 1.0


def postprocess(x):
    """decoder output [B,3,H,W] -> uint8 [B,H,W,3] (clamp, (x+1)/2*255 in float32, truncate)."""
    t = ((x.float().clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).cpu().numpy().astype("float32") * 255
    return t.astype("uint8")
