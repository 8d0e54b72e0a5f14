"""Loss plugins: callables ``loss(outputs, batch) -> scalar tensor``."""
import torch.nn.functional as F


def cross_entropy(outputs, batch):
    """Mean cross-entropy of logits (..., classes) against ``batch["targets"]`` (...): LM tokens or image labels."""
    return F.cross_entropy(outputs.flatten(0, -2).float(), batch["targets"].flatten())
