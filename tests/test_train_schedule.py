"""LR schedule (flops_fit/train/schedule.py): warmup then cosine, landing on the floor at the last step."""
import pytest
import torch

from flops_fit.train.schedule import lr_factor, make_scheduler, warmup_steps


def _lrs(steps, warmup_frac=0.05, min_lr_ratio=0.1, peak=1e-2):
    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=peak)
    sched = make_scheduler(opt, steps, warmup_frac, min_lr_ratio)
    out = []
    for _ in range(steps):  # the LR each optimizer step actually uses
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


class TestSchedule:
    @pytest.mark.parametrize("steps", [2, 7, 100, 1234])
    def test_ends_at_its_floor_on_exactly_the_last_step(self, steps):
        lrs = _lrs(steps)
        assert lrs[-1] == pytest.approx(0.1 * 1e-2, rel=1e-12)
        after_warmup = lrs[warmup_steps(steps, 0.05):-1]
        assert all(lr > 0.1 * 1e-2 for lr in after_warmup)  # the floor is reached on the last step, not before

    def test_warms_up_linearly_to_the_peak(self):
        lrs = _lrs(200, warmup_frac=0.05)
        w = warmup_steps(200, 0.05)
        assert w == 10
        assert lrs[:w] == pytest.approx([1e-2 * (i + 1) / w for i in range(w)])
        assert max(lrs) == pytest.approx(1e-2)

    def test_decays_monotonically_after_warmup(self):
        lrs = _lrs(300)
        tail = lrs[warmup_steps(300, 0.05) - 1:]
        assert all(a >= b for a, b in zip(tail, tail[1:]))

    def test_schedule_length_is_the_runs_own_steps(self):
        # a short and a long run both end on the floor: the schedule is never a fixed global horizon
        assert lr_factor(49, 50, 0.05, 0.1) == lr_factor(4999, 5000, 0.05, 0.1) == 0.1
