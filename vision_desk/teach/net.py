"""The taught network: a pretrained body, global average pooling and one linear layer (imports torch)."""

from __future__ import annotations

import torch
import torch.nn as nn

from vision_desk.teach.backbones import backbone


class TaughtNet(nn.Module):
    """Logits for the taught classes from ImageNet-normalised RGB images (N, 3, S, S)."""

    def __init__(self, body: nn.Module, head: nn.Linear, arch: str) -> None:
        super().__init__()
        self.body = body
        self.head = head
        self.arch = arch

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The pooled feature vector of each image: what the quick mode's head is trained on."""
        return torch.flatten(nn.functional.adaptive_avg_pool2d(self.body(x), 1), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))

    def target_layers(self) -> list[nn.Module]:
        """Grad-CAM's target: the body's last convolutional block."""
        return [backbone(self.arch).last_block(self.body)]
