"""A Chameleon decoder (HF ChameleonForConditionalGeneration text stack), written from its definition.

RMSNorm pre-norm (swin_norm = false), per-head QK LayerNorm over head_dim (weight and bias, eps 1e-5)
before rotate-half RoPE, grouped-query attention, causal softmax attention scaled by 1/sqrt(head_dim),
SwiGLU MLP, final RMSNorm, untied lm_head, no biases.  Parameter names equal the HF checkpoint names.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        dt = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dt)


class HeadNorm(nn.Module):
    """LayerNorm over head_dim with a per-head weight and bias ([n_heads, head_dim])."""

    def __init__(self, n, hd):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n, hd))
        self.bias = nn.Parameter(torch.zeros(n, hd))

    def forward(self, x):  # x [..., n, hd]
        x = F.layer_norm(x.float(), x.shape[-1:], None, None, 1e-5)
        return x * self.weight + self.bias


def rope_tables(positions, hd, theta):
    inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.int64, device=positions.device).float() / hd))
    f = positions.float()[..., None] * inv  # [..., hd/2]
    emb = torch.cat([f, f], -1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], -1)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, self.nh, self.nkv = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
        self.hd = d // self.nh
        self.q_proj = nn.Linear(d, self.nh * self.hd, bias=False)
        self.k_proj = nn.Linear(d, self.nkv * self.hd, bias=False)
        self.v_proj = nn.Linear(d, self.nkv * self.hd, bias=False)
        self.o_proj = nn.Linear(self.nh * self.hd, d, bias=False)
        self.q_norm = HeadNorm(self.nh, self.hd)
        self.k_norm = HeadNorm(self.nkv, self.hd)

    def forward(self, x, cos, sin, mask, cache=None):
        b, t, _ = x.shape
        q = self.q_norm(self.q_proj(x).view(b, t, self.nh, self.hd)).transpose(1, 2)
        k = self.k_norm(self.k_proj(x).view(b, t, self.nkv, self.hd)).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.nkv, self.hd).transpose(1, 2)
        cos, sin = cos[:, None], sin[:, None]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if cache is not None:
            if cache:
                k = torch.cat([cache[0], k], 2)
                v = torch.cat([cache[1], v], 2)
            cache[:] = [k, v]
        rep = self.nh // self.nkv
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        s = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.hd)
        s = s.float() + mask
        p = torch.softmax(s, dim=-1)
        o = torch.matmul(p, v)
        o = o.transpose(1, 2).reshape(b, t, self.nh * self.hd)
        return self.o_proj(o)


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, m = c["hidden_size"], c["intermediate_size"]
        self.gate_proj = nn.Linear(d, m, bias=False)
        self.up_proj = nn.Linear(d, m, bias=False)
        self.down_proj = nn.Linear(m, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn = Attention(c)
        self.mlp = MLP(c)
        self.input_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])

    def forward(self, x, cos, sin, mask, cache=None):
        h = x + self.self_attn(self.input_layernorm(x), cos, sin, mask, cache)
        return h + self.mlp(self.post_attention_layernorm(h))


class Body(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList([Layer(c) for _ in range(c["num_hidden_layers"])])
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])


class ChameleonLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.model = Body(c)
        self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)

    def forward(self, ids, cache=None, start=0):
        """ids [B,T] at positions start..start+T-1.  cache: None, or a list (one [k, v] per layer, initially
        empty lists) that is extended in place for incremental decoding.  Returns float logits [B,T,V]."""
        b, t = ids.shape
        positions = torch.arange(start, start + t, device=ids.device)[None].expand(b, t)
        mask = torch.full((t, start + t), float("-inf"), device=ids.device).triu(start + 1)[None, None]
        cos, sin = rope_tables(positions, self.c["hidden_size"] // self.c["num_attention_heads"], self.c["rope_theta"])
        x = self.model.embed_tokens(ids)
        for i, layer in enumerate(self.model.layers):
            x = layer(x, cos, sin, mask, None if cache is None else cache[i])
        return self.lm_head(self.model.norm(x)).float()

    def new_cache(self):
        return [[] for _ in self.model.layers]
