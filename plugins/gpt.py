"""GPT model plugin: a pre-norm decoder-only transformer with RoPE and SDPA attention, no dropout.

Size knob: ``d_model`` (the planner varies it; ``n_head = d_model // head_dim``). With ``aspect > 0`` depth
grows with width through the same knob, ``n_layer = d_model // aspect`` (nanochat's d_model = 64 x depth):
the plan table then shows each size's shape (``describe``).
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
    """RoPE on q and k over the whole (B, S, 3, H, Dh) projection (pairs (2i, 2i+1), GPT-J/Llama style); v's
    rotation is the identity, which leaves it exactly unchanged. Two paths, equal within rounding (tests):
    - CPU, eager: one complex multiply in fp32. Rotating v by zero costs a third more of a cheap elementwise op
      and saves the slice-and-concatenate copies that separate q/k rotations need in the backward pass.
    - GPUs, and anything torch.compile traces: real arithmetic in the compute dtype (bf16 under autocast), which
      Inductor fuses into one kernel (it cannot generate code for complex operators) and which never copies the
      whole projection to fp32."""
    if qkv.device.type == "cpu" and not torch.compiler.is_compiling():
        shape = qkv.shape
        z = torch.view_as_complex(qkv.float().unflatten(-1, (shape[-1] // 2, 2)))
        return torch.view_as_real(z * torch.view_as_complex(rope.float())).flatten(-2).type_as(qkv)
    return _rotate_real(qkv, rope)


def _rotate_real(qkv: torch.Tensor, rope: torch.Tensor) -> torch.Tensor:
    """The same rotation as (x0, x1) -> (x0 cos - x1 sin, x0 sin + x1 cos), in qkv's dtype."""
    x = qkv.unflatten(-1, (qkv.shape[-1] // 2, 2))
    x0, x1 = x[..., 0], x[..., 1]
    cos, sin = rope[..., 0].to(qkv.dtype), rope[..., 1].to(qkv.dtype)
    return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).flatten(-2)


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
                 vocab_size: int = 256, seq_len: int = 128, aspect: int = 0):
        super().__init__()
        if d_model % head_dim or head_dim % 2:
            raise ValueError(f"d_model={d_model} must be a multiple of head_dim={head_dim}, and head_dim even")
        if aspect:
            n_layer = max(1, d_model // aspect)
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

    @staticmethod
    def describe(*, d_model: int, aspect: int = 0, **_) -> str | None:
        """The shape behind a knob value, for the plan table, when depth follows width (else None)."""
        return f"d{d_model} L{max(1, d_model // aspect)}" if aspect else None

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
