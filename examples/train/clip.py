"""A tiny CLIP (HF CLIPModel layout and parameter names) and its CLIP-style BPE tokenizer.

Text tower: token + position embeddings, pre-LN transformer with a causal mask, final LayerNorm,
pooled at the end-of-text token (the largest id, as HF pools), text_projection.  Vision tower: a
patch-embedding convolution without bias, class embedding, position embeddings, pre_layrnorm, pre-LN
transformer, post_layernorm on the class token, visual_projection.  quick_gelu MLPs.
"""
import math
import re

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import world
from texttok import bytes_to_unicode

B2U = bytes_to_unicode()
MEAN = [0.48145466, 0.4578275, 0.40821073]
STD = [0.26862954, 0.26130258, 0.27577711]


class ClipTokenizer:
    """CLIP BPE: lower-cased words, '</w>' marks a word's end; vocab = 256 bytes, 256 bytes+'</w>', merges, specials."""

    PAT = re.compile(r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[a-z]+|[0-9]|[^\sa-z0-9]+")

    def __init__(self, words):
        base = [B2U[b] for b in range(256)]
        vocab = base + [b + "</w>" for b in base]
        self.ranks, self.merges = {}, []
        for w in words:
            while True:
                sym = self._bpe(w)
                if len(sym) == 1:
                    break
                pair = (sym[0], sym[1])
                self.ranks[pair] = len(self.merges)
                self.merges.append(pair)
        for a, b in self.merges:
            if a + b not in vocab:
                vocab.append(a + b)
        vocab += ["<|startoftext|>", "<|endoftext|>"]
        self.vocab = {s: i for i, s in enumerate(vocab)}
        self.bos, self.eos = self.vocab["<|startoftext|>"], self.vocab["<|endoftext|>"]

    def _bpe(self, w):
        u = "".join(B2U[b] for b in w.encode())
        sym = list(u[:-1]) + [u[-1] + "</w>"]
        while len(sym) > 1:
            best, bi = None, -1
            for i in range(len(sym) - 1):
                r = self.ranks.get((sym[i], sym[i + 1]))
                if r is not None and (best is None or r < best):
                    best, bi = r, i
            if best is None:
                break
            sym = sym[:bi] + [sym[bi] + sym[bi + 1]] + sym[bi + 2:]
        return sym

    def encode(self, text):
        ids = [self.bos]
        for w in self.PAT.findall(" ".join(text.lower().split())):
            ids += [self.vocab[s] for s in self._bpe(w)]
        return ids + [self.eos]

    def __len__(self):
        return len(self.vocab)


def clip_words():
    import texttok
    import world
    return [w for w in texttok.words() if w not in world.ANON_NAMES] + ["?"]


def quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


class Attn(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.h, self.hd = h, d // h
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(d, d) for _ in range(4))

    def forward(self, x, mask):
        b, t, d = x.shape
        q = (self.q_proj(x) * self.hd ** -0.5).view(b, t, self.h, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.h, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.h, self.hd).transpose(1, 2)
        w = q @ k.transpose(2, 3)
        if mask is not None:
            w = w + mask
        o = torch.softmax(w, -1) @ v
        return self.out_proj(o.transpose(1, 2).reshape(b, t, d))


class MLP(nn.Module):
    def __init__(self, d, m):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(d, m), nn.Linear(m, d)

    def forward(self, x):
        return self.fc2(quick_gelu(self.fc1(x)))


class Layer(nn.Module):
    def __init__(self, d, h, m, eps):
        super().__init__()
        self.self_attn = Attn(d, h)
        self.layer_norm1 = nn.LayerNorm(d, eps=eps)
        self.mlp = MLP(d, m)
        self.layer_norm2 = nn.LayerNorm(d, eps=eps)

    def forward(self, x, mask):
        x = x + self.self_attn(self.layer_norm1(x), mask)
        return x + self.mlp(self.layer_norm2(x))


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layers = nn.ModuleList([Layer(c["hidden_size"], c["num_attention_heads"], c["intermediate_size"],
                                           c["layer_norm_eps"]) for _ in range(c["num_hidden_layers"])])

    def forward(self, x, mask=None):
        for l in self.layers:
            x = l(x, mask)
        return x


class TextModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["hidden_size"]
        self.embeddings = nn.Module()
        self.embeddings.token_embedding = nn.Embedding(c["vocab_size"], d)
        self.embeddings.position_embedding = nn.Embedding(c["max_position_embeddings"], d)
        self.encoder = Encoder(c)
        self.final_layer_norm = nn.LayerNorm(d, eps=c["layer_norm_eps"])

    def forward(self, ids):
        b, t = ids.shape
        dev = ids.device
        x = self.embeddings.token_embedding(ids) + self.embeddings.position_embedding(torch.arange(t, device=dev))[None]
        mask = torch.full((t, t), float("-inf"), device=dev).triu(1)[None, None]
        x = self.final_layer_norm(self.encoder(x, mask))
        return x[torch.arange(b, device=dev), ids.argmax(-1)]


class VisionModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, p = c["hidden_size"], c["patch_size"]
        n = (c["image_size"] // p) ** 2 + 1
        self.embeddings = nn.Module()
        self.embeddings.class_embedding = nn.Parameter(torch.randn(d) * 0.02)
        self.embeddings.patch_embedding = nn.Conv2d(c["num_channels"], d, p, p, bias=False)
        self.embeddings.position_embedding = nn.Embedding(n, d)
        self.pre_layrnorm = nn.LayerNorm(d, eps=c["layer_norm_eps"])
        self.encoder = Encoder(c)
        self.post_layernorm = nn.LayerNorm(d, eps=c["layer_norm_eps"])

    def forward(self, px):
        b = px.shape[0]
        x = self.embeddings.patch_embedding(px).flatten(2).transpose(1, 2)
        x = torch.cat([self.embeddings.class_embedding.expand(b, 1, -1), x], 1)
        x = x + self.embeddings.position_embedding.weight[None]
        x = self.encoder(self.pre_layrnorm(x))
        return self.post_layernorm(x[:, 0])


class CLIP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.text_model = TextModel(cfg["text_config"])
        self.vision_model = VisionModel(cfg["vision_config"])
        p = cfg["projection_dim"]
        self.text_projection = nn.Linear(cfg["text_config"]["hidden_size"], p, bias=False)
        self.visual_projection = nn.Linear(cfg["vision_config"]["hidden_size"], p, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(cfg["logit_scale_init_value"]))

    def text_embeds(self, ids):
        return F.normalize(self.text_projection(self.text_model(ids)), dim=-1)

    def image_embeds(self, px):
        return F.normalize(self.visual_projection(self.vision_model(px)), dim=-1)


def clip_pixels(u8):
    """uint8 [B,32,32,3] -> normalised float [B,3,32,32] (32x32 input: resize and crop are identities)."""
    x = torch.from_numpy(u8).permute(0, 3, 1, 2).float() * (1 / 255.0)
    return (x - torch.tensor(MEAN)[None, :, None, None]) / torch.tensor(STD)[None, :, None, None]
