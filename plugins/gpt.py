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


def _rope_table(seq_len: int, head_dim: int, base: float = 10000.0) -> torch.Tensor:
    """Rotations for q, k and v as (cos, sin) pairs, shape (seq_len, 3, 1, head_dim/2, 2); v's is the identity."""
    inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    angles = torch.outer(torch.arange(seq_len, dtype=torch.float32), inv_freq)
    rot = torch.stack((angles.cos(), angles.sin()), dim=-1)
    identity = torch.stack((torch.ones_like(angles), torch.zeros_like(angles)), dim=-1)
    return torch.stack((rot, rot, identity), dim=1).unsqueeze(2)


def _rotate_qkv(qkv: torch.Tensor, rope: torch.Tensor) -> torch.Tensor:
    """RoPE on q and k as one complex multiply over the whole (B, S, 3, H, Dh) projection (pairs (2i, 2i+1),
    GPT-J/Llama style). Rotating v by zero costs a third more of a cheap elementwise op and saves the
    slice-and-concatenate copies that separate q/k rotations need in the backward pass: faster on CPU."""
    shape = qkv.shape
    z = torch.view_as_complex(qkv.float().unflatten(-1, (shape[-1] // 2, 2)))
    return torch.view_as_real(z * torch.view_as_complex(rope.float())).flatten(-2).type_as(qkv)


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

    def forward(self, x, rope):
        B, S, D = x.shape
        qkv = self.qkv(self.ln1(x)).view(B, S, 3, self.n_head, D // self.n_head)
        q, k, v = _rotate_qkv(qkv, rope).permute(2, 0, 3, 1, 4)
        att = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(att.transpose(1, 2).reshape(B, S, D))
        return x + self.fc_out(F.gelu(self.fc(self.ln2(x))))


class GPT(nn.Module):
    def __init__(self, *, d_model: int, n_layer: int = 2, head_dim: int = 16, mlp_ratio: int = 4,
                 vocab_size: int = 256, seq_len: int = 128):
        super().__init__()
        if d_model % head_dim or head_dim % 2:
            raise ValueError(f"d_model={d_model} must be a multiple of head_dim={head_dim}, and head_dim even")
        self.seq_len = seq_len
        self.tok_emb = nn.Embedding(vocab_size, d_model)
        self.blocks = nn.ModuleList(Block(d_model, d_model // head_dim, mlp_ratio) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size, bias=False)
        self.register_buffer("rope", _rope_table(seq_len, head_dim), persistent=False)
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
        rope = self.rope[:S]
        for block in self.blocks:
            x = block(x, rope)
        return self.head(self.ln_f(x))
