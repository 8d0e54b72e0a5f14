"""Loss plugin: a callable loss(outputs, batch) -> scalar tensor (the held-out value is the L of the law)."""
import torch
import torch.nn.functional as F


def cross_entropy(outputs: torch.Tensor, batch: dict) -> torch.Tensor:
    return F.cross_entropy(outputs.float(), batch["labels"])
