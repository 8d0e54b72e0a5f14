"""ViT model plugin: a pre-norm Vision Transformer (patch embedding, class token, SDPA attention, no dropout).

Size knob: ``d_model`` (the planner varies it; ``n_head = d_model // head_dim``; the MLP width is
``mlp_ratio * d_model``). Everything else (depth, head size, patching) is fixed per sweep.
Batch keys: ``images`` float (B, C, H, W), already normalized by the data plugin.
Output: logits (B, num_classes), read by ``plugins.losses:cross_entropy``.

Architecture: the image is cut into non-overlapping ``patch_size`` x ``patch_size`` patches
(``(image_size // patch_size) ** 2`` of them), each flattened and linearly projected to ``d_model``
(equivalent to a stride-``patch_size`` convolution, written as reshape + ``nn.Linear``); a learned class
token is prepended and learned absolute position embeddings are added; then ``n_layer`` pre-norm
encoder blocks (LayerNorm -> bidirectional multi-head attention via ``F.scaled_dot_product_attention``
-> residual; LayerNorm -> GELU MLP -> residual); a final LayerNorm; the head reads the class token
(``pool="cls"``, default) or the mean over patch tokens (``pool="mean"``, no class token then).

Parameter convention (``num_params``): every trainable parameter is counted -- patch embedding,
class token, position embeddings, all LayerNorm weights and biases, linear biases and the
classification head. Nothing is tied or excluded, so N is exactly what the optimizer trains. Every
term grows with ``d_model`` (holding the other arguments fixed), so ``num_params`` is strictly
increasing in the knob.

The constructor allocates parameters only (no data, no buffers derived from data), so it works
under ``with torch.device("meta"):`` and fwd+bwd runs on meta tensors for FLOP counting.
"""
import torch
import torch.nn.functional as F
from torch import nn


class Block(nn.Module):
    """Pre-norm transformer encoder block with bidirectional SDPA attention."""

    def __init__(self, d_model: int, n_head: int, mlp_ratio: int, bias: bool = True):
        super().__init__()
        self.n_head = n_head
        self.ln1 = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=bias)
        self.proj = nn.Linear(d_model, d_model, bias=bias)
        self.ln2 = nn.LayerNorm(d_model)
        self.fc = nn.Linear(d_model, mlp_ratio * d_model, bias=bias)
        self.fc_out = nn.Linear(mlp_ratio * d_model, d_model, bias=bias)

    def forward(self, x):
        B, S, D = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(B, S, 3, self.n_head, D // self.n_head).permute(2, 0, 3, 1, 4)
        att = F.scaled_dot_product_attention(q, k, v)  # (B, H, S, Dh), full (non-causal) attention
        x = x + self.proj(att.transpose(1, 2).reshape(B, S, D))
        return x + self.fc_out(F.gelu(self.fc(self.ln2(x))))


class ViT(nn.Module):
    """Vision Transformer classifier. See the module docstring for the parameter-count convention."""

    def __init__(self, *, d_model: int, n_layer: int = 2, head_dim: int = 8, mlp_ratio: int = 4,
                 image_size: int = 32, patch_size: int = 4, channels: int = 3, num_classes: int = 10,
                 pool: str = "cls", bias: bool = True):
        super().__init__()
        for name, v in dict(d_model=d_model, n_layer=n_layer, head_dim=head_dim, mlp_ratio=mlp_ratio,
                            image_size=image_size, patch_size=patch_size, channels=channels,
                            num_classes=num_classes).items():
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"ViT: {name} must be a positive integer, got {v!r}")
        if d_model % head_dim:
            raise ValueError(f"ViT: d_model={d_model} must be a multiple of head_dim={head_dim} "
                             f"(set model.size.step to a multiple of head_dim)")
        if image_size % patch_size:
            raise ValueError(f"ViT: image_size={image_size} must be a multiple of patch_size={patch_size}")
        if pool not in ("cls", "mean"):
            raise ValueError(f"ViT: pool must be 'cls' or 'mean', got {pool!r}")
        self.image_size, self.patch_size, self.channels = image_size, patch_size, channels
        self.pool = pool
        self.n_patches = (image_size // patch_size) ** 2
        n_tokens = self.n_patches + (1 if pool == "cls" else 0)

        self.patch_emb = nn.Linear(channels * patch_size * patch_size, d_model, bias=True)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d_model)) if pool == "cls" else None
        self.pos_emb = nn.Parameter(torch.zeros(1, n_tokens, d_model))
        self.blocks = nn.ModuleList(Block(d_model, d_model // head_dim, mlp_ratio, bias) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, num_classes, bias=True)
        self._init_weights()

    def _init_weights(self):
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        nn.init.trunc_normal_(self.pos_emb, std=0.02)
        if self.cls_token is not None:
            nn.init.trunc_normal_(self.cls_token, std=0.02)
        nn.init.zeros_(self.head.weight)  # standard ViT head init: start at uniform predictions

    def num_params(self) -> int:
        """All trainable parameters (embeddings, tokens, norms, biases and head included)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def patchify(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, n_patches, C * p * p), patches in row-major order."""
        B, C, H, W = images.shape
        p = self.patch_size
        x = images.reshape(B, C, H // p, p, W // p, p).permute(0, 2, 4, 1, 3, 5)
        return x.reshape(B, (H // p) * (W // p), C * p * p)

    def forward(self, batch: dict) -> torch.Tensor:
        images = batch["images"]
        if images.dim() != 4 or tuple(images.shape[1:]) != (self.channels, self.image_size, self.image_size):
            raise ValueError(f"ViT expects batch['images'] of shape (B, {self.channels}, {self.image_size}, "
                             f"{self.image_size}), got {tuple(images.shape)}")
        x = self.patch_emb(self.patchify(images.to(self.patch_emb.weight.dtype)))
        if self.cls_token is not None:
            x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        x = x + self.pos_emb
        for block in self.blocks:
            x = block(x)
        x = self.ln_f(x)
        x = x[:, 0] if self.cls_token is not None else x.mean(dim=1)
        return self.head(x)
