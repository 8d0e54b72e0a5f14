"""The WSD-S schedule (flops_fit.train.schedule.wsd_lr_factor) and the cooldown plan of one size's cells
(flops_fit.wsd.cooldown): warmup, stable, decays of a fraction of each period with a floor in steps."""
import pytest
import torch

from flops_fit.train.schedule import make_wsd_scheduler, resync, wsd_lr_factor
from flops_fit.wsd.cooldown import chain, cooldown_settings, decays

M = 0.1


def test_warmup_stable_decay_and_back_to_the_peak():
    dec = [[80, 100], [180, 200]]
    f = [wsd_lr_factor(s, 5, dec, M, "linear") for s in range(200)]
    assert f[0] == pytest.approx(0.2) and f[4] == 1.0            # warmup (s + 1) / 5
    assert f[5:80] == [1.0] * 75                                  # stable
    assert f[99] == pytest.approx(M) and f[199] == pytest.approx(M)   # each decay ends on the floor
    assert f[89] == pytest.approx(1 - (1 - M) * 0.5)              # linear halfway
    assert f[100] == 1.0 and f[150] == 1.0                        # the run continues at the peak after a decay
    assert all(a >= b for a, b in zip(f[80:100], f[81:100]))      # monotone inside a decay


def test_one_minus_sqrt_decays_faster_early():
    lin = wsd_lr_factor(84, 1, [[80, 100]], M, "linear")
    sq = wsd_lr_factor(84, 1, [[80, 100]], M, "1-sqrt")
    assert sq < lin and wsd_lr_factor(99, 1, [[80, 100]], M, "1-sqrt") == pytest.approx(M)


def test_cooldown_is_a_fraction_of_the_period_with_a_floor():
    cool = cooldown_settings({"cooldown": {"fraction": 0.2, "min_steps": 30}})
    warmup, cells, lost = chain([1000, 500, 2000], 0.05, cool)
    assert warmup == 25 and not lost
    assert [(c.start, c.end, c.decay) for c in cells] == [(0, 500, 100), (500, 1000, 100), (1000, 2000, 200)]
    _, cells, _ = chain([100, 200], 0.05, cool)
    assert [c.decay for c in cells] == [30, 30]                   # 0.2 x 100 = 20 < the floor of 30
    assert decays(cells) == [[70, 100], [170, 200]]


def test_a_cell_under_the_floor_is_dropped_or_flagged():
    cool = cooldown_settings({"cooldown": {"min_steps": 60}})
    warmup, cells, lost = chain([50, 200, 400], 0.05, cool)
    assert lost == [(50, 48)]                                      # 50 steps - 2 warmup cannot hold 60
    assert [c.end for c in cells] == [200, 400] and cells[0].start == 0 and warmup == 10
    _, cells, lost = chain([50, 200, 400], 0.05, dict(cool, keep_under_floor=True))
    assert not lost and cells[0].under_floor and cells[0].decay == 48 and not cells[1].under_floor


def test_a_parent_prefix_gives_the_same_factors():
    cool = cooldown_settings({})
    w, cells, _ = chain([300, 600, 1200], 0.05, cool)
    parent, child = decays(cells[:2]), decays(cells)
    assert all(wsd_lr_factor(s, w, parent, M) == wsd_lr_factor(s, w, child, M) for s in range(600))


def test_loading_a_parents_scheduler_state_keeps_the_childs_decays():
    def sched(dec):
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        return make_wsd_scheduler(opt, 2, dec, M, "linear")
    parent, child = sched([[8, 10]]), sched([[8, 10], [16, 20]])
    for _ in range(10):
        parent.optimizer.step()
        parent.step()
    child.load_state_dict(parent.state_dict())
    resync(child)
    lrs = []
    for _ in range(10):
        lrs.append(child.optimizer.param_groups[0]["lr"])
        child.optimizer.step()
        child.step()
    assert lrs == pytest.approx([wsd_lr_factor(s, 2, [[8, 10], [16, 20]], M, "linear") for s in range(10, 20)])
    assert lrs[-1] == pytest.approx(M)
