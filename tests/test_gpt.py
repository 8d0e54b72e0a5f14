"""The GPT plugin's attention: RoPE makes q.k depend only on the relative position, v is not rotated,
and attention is causal."""
import torch

from plugins.gpt import GPT, _rope_table, _rotate_qkv


def test_rope_scores_depend_only_on_relative_position():
    torch.manual_seed(0)
    S, H, Dh = 12, 2, 8
    rope = _rope_table(S, Dh)
    q, k, v = torch.randn(3, H, Dh)
    qkv = torch.stack((q, k, v)).expand(1, S, 3, H, Dh)  # the same q, k, v at every position
    rq, rk, rv = _rotate_qkv(qkv, rope)[0].unbind(1)  # (S, H, Dh) each
    scores = torch.einsum("mhd,nhd->hmn", rq, rk)
    for offset in (0, 1, 5):
        diag = torch.diagonal(scores, offset=-offset, dim1=1, dim2=2)  # pairs with m - n = offset
        torch.testing.assert_close(diag, diag[:, :1].expand_as(diag), rtol=1e-5, atol=1e-5)
    assert not torch.allclose(scores[:, 3, 0], scores[:, 3, 3])  # different offsets do differ
    torch.testing.assert_close(rv, v.expand(S, H, Dh))  # v passes through
    torch.testing.assert_close(rq.norm(dim=-1), q.norm(dim=-1).expand(S, H))  # a rotation


def test_causal_future_tokens_do_not_change_past_logits():
    torch.manual_seed(0)
    model = GPT(d_model=32, n_layer=2, head_dim=8, seq_len=16)
    a = torch.randint(0, 256, (1, 16))
    b = a.clone()
    b[0, 10:] = (b[0, 10:] + 1) % 256
    la, lb = model({"tokens": a}), model({"tokens": b})
    torch.testing.assert_close(la[:, :10], lb[:, :10])
    assert not torch.allclose(la[:, 10:], lb[:, 10:])


def test_bf16_autocast_runs():
    model = GPT(d_model=16, n_layer=1, head_dim=4, seq_len=8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model({"tokens": torch.randint(0, 256, (2, 8))})
    out.float().sum().backward()
    assert torch.isfinite(model.blocks[0].qkv.weight.grad).all()
