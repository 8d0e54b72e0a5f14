"""GPT model plugin: a pre-norm decoder-only transformer with RoPE and SDPA attention, no dropout.

Size knob: ``d_model`` (the planner varies it; ``n_head = d_model // head_dim``).
Batch keys: ``tokens`` (B, S) int64 input ids. Output: logits (B, S, vocab_size).

Parameter convention (``num_params``): every trainable parameter is counted, embeddings and the
LM head included (the head is untied). At CPU scales the embedding is a large share of a tiny
model; counting it keeps N equal to what the optimizer actually trains. RoPE has no parameters.
"""
import torch
import torch.nn.functional as F
from torch import nn


def _rope_tables(seq_len: int, head_dim: int, base: float = 10000.0):
    inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    angles = torch.outer(torch.arange(seq_len, dtype=torch.float32), inv_freq)
    return angles.cos(), angles.sin()


def _apply_rope(x, cos, sin):
    # x: (B, H, S, Dh); rotate the pairs (i, i + Dh/2): contiguous halves, no strided slices (GPT-NeoX style)
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)


class Block(nn.Module):
    def __init__(self, d_model: int, n_head: int, mlp_ratio: int):
        super().__init__()
        self.n_head = n_head
        self.ln1 = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=False)
        self.proj = nn.Linear(d_model, d_model, bias=False)
        self.ln2 = nn.LayerNorm(d_model)
        self.fc = nn.Linear(d_model, mlp_ratio * d_model, bias=False)
        self.fc_out = nn.Linear(mlp_ratio * d_model, d_model, bias=False)

    def forward(self, x, cos, sin):
        B, S, D = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(B, S, 3, self.n_head, D // self.n_head).permute(2, 0, 3, 1, 4)
        q, k = _apply_rope(q, cos, sin), _apply_rope(k, cos, sin)
        att = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(att.transpose(1, 2).reshape(B, S, D))
        return x + self.fc_out(F.gelu(self.fc(self.ln2(x))))


class GPT(nn.Module):
    def __init__(self, *, d_model: int, n_layer: int = 2, head_dim: int = 16, mlp_ratio: int = 4,
                 vocab_size: int = 256, seq_len: int = 128):
        super().__init__()
        if d_model % head_dim:
            raise ValueError(f"d_model={d_model} must be a multiple of head_dim={head_dim}")
        self.seq_len = seq_len
        self.tok_emb = nn.Embedding(vocab_size, d_model)
        self.blocks = nn.ModuleList(Block(d_model, d_model // head_dim, mlp_ratio) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size, bias=False)
        cos, sin = _rope_tables(seq_len, head_dim)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(self, batch: dict) -> torch.Tensor:
        idx = batch["tokens"]
        S = idx.shape[1]
        if S > self.seq_len:
            raise ValueError(f"sequence length {S} exceeds the model's seq_len={self.seq_len}")
        x = self.tok_emb(idx)
        cos, sin = self.rope_cos[:S], self.rope_sin[:S]
        for block in self.blocks:
            x = block(x, cos, sin)
        return self.head(self.ln_f(x))
