"""Model plugin: an MLP classifier whose hidden width is the size knob.

Protocol (flops-fit docs/plugins.md):
- an ``nn.Module`` subclass; every constructor argument is a keyword argument;
- one integer size knob (``width``), named in the config as ``model.size.knob``; the planner varies it
  to hit each target parameter count; the other arguments come from ``model.kwargs``;
- ``forward(batch)`` takes the batch dict the data plugin yields and returns what the loss plugin takes;
- ``num_params()`` is the N of the scaling law (here: every trainable parameter), non-decreasing in the knob.
- ``__init__`` must not touch data or files: the planner builds the model on the ``meta`` device.
"""
import torch
from torch import nn


class MyNet(nn.Module):
    def __init__(self, *, width: int, depth: int = 2, in_features: int = 64, num_classes: int = 10):
        super().__init__()
        layers, d = [], in_features
        for _ in range(depth):
            layers += [nn.Linear(d, width), nn.GELU()]
            d = width
        layers.append(nn.Linear(d, num_classes))
        self.net = nn.Sequential(*layers)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(self, batch: dict) -> torch.Tensor:
        return self.net(batch["features"])  # logits (B, num_classes)
