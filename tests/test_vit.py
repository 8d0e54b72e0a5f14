"""ViT model plugin: shapes, parameter convention, monotone size knob, meta-device planning path."""
import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from plugins.vit import ViT

CIFAR = dict(image_size=32, patch_size=4, channels=3, num_classes=10)
DIGITS = dict(image_size=8, patch_size=2, channels=1, num_classes=10)


def _batch(B, channels, image_size, num_classes, device="cpu", **_):
    return {"images": torch.randn(B, channels, image_size, image_size, device=device),
            "targets": torch.arange(B, device=device) % num_classes}


@pytest.mark.parametrize("shape", [CIFAR, DIGITS])
@pytest.mark.parametrize("pool", ["cls", "mean"])
def test_forward_shape_and_backward(shape, pool):
    torch.manual_seed(0)
    m = ViT(d_model=16, n_layer=2, head_dim=8, pool=pool, **shape)
    b = _batch(3, **shape)
    out = m(b)
    assert out.shape == (3, shape["num_classes"]) and out.dtype == torch.float32
    torch.nn.functional.cross_entropy(out, b["targets"]).backward()
    assert all(p.grad is not None for p in m.parameters())


def test_num_params_convention():
    d, L, C, p, k, r = 16, 2, 3, 4, 10, 4
    m = ViT(d_model=d, n_layer=L, head_dim=8, mlp_ratio=r, **CIFAR)
    n_tok = (32 // p) ** 2 + 1
    block = 2 * 2 * d + (3 * d * d + 3 * d) + (d * d + d) + (r * d * d + r * d) + (r * d * d + d)
    expected = (C * p * p * d + d) + d + n_tok * d + L * block + 2 * d + (d * k + k)
    assert m.num_params() == expected == sum(p.numel() for p in m.parameters())


def test_num_params_monotone_in_d_model():
    counts = []
    for d in range(8, 257, 8):
        with torch.device("meta"):
            counts.append(ViT(d_model=d, n_layer=2, head_dim=8, **CIFAR).num_params())
    assert all(a < b for a, b in zip(counts, counts[1:]))


def test_meta_device_fwd_bwd_flop_count():
    with torch.device("meta"):
        m = ViT(d_model=64, n_layer=2, head_dim=8, **CIFAR)
    assert all(p.is_meta for p in m.parameters())
    b = _batch(4, device="meta", **CIFAR)
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as fc:
        loss = torch.nn.functional.cross_entropy(m(b), b["targets"])
        loss.backward()
    per_sample = fc.get_total_flops() / 4
    # fwd+bwd ~ 6 * (matmul params) * tokens, plus attention; sanity band around 6 * N * tokens
    approx = 6 * m.num_params() * 65
    assert 0.8 * approx < per_sample < 1.5 * approx


def test_bad_arguments_are_clear():
    with pytest.raises(ValueError, match="multiple of head_dim"):
        ViT(d_model=12, head_dim=8, **CIFAR)
    with pytest.raises(ValueError, match="multiple of patch_size"):
        ViT(d_model=16, head_dim=8, image_size=30, patch_size=4, channels=3, num_classes=10)
    m = ViT(d_model=16, head_dim=8, **CIFAR)
    with pytest.raises(ValueError, match=r"expects batch\['images'\]"):
        m({"images": torch.randn(2, 1, 8, 8)})
