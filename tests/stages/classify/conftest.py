"""Fixtures for the classify family: the committed shapes detector and a small cat classifier trained here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.stages.classify.scenes import CAT_TRAIN_PHOTOS, cat_scene
from tests.stages.detection.conftest import committed_model
from vision_desk.engine.annotate import annotate
from vision_desk.engine.frame import Frame
from vision_desk.engine.pipeline import Pipeline, spec_from_dict

#: The classifier's input side: the 224-pixel scenes squeezed to 112, where a training step costs ~20 ms a picture.
CAT_INPUT = 112
#: How far outside its box a heatmap's peak may be and still count, in the pixels of the 640-wide shapes scenes: one
#: pixel of the shapes model's 128-wide input, the resolution the map is computed at. Peaks that miss miss by far
#: more (70-450 px, on the photos left out of scenes.SHAPE_BACKGROUNDS).
INPUT_PIXEL = 640 / 128


def run(stages: list[dict], images: list[np.ndarray]) -> tuple[list[Frame], list[np.ndarray]]:
    """Frames through a pipeline as the engine runs them, and each frame's picture with the overlays drawn."""
    pipeline = Pipeline(spec_from_dict({"stages": stages}))
    pipeline.setup()
    frames, drawn = [], []
    try:
        for i, image in enumerate(images):
            frame = Frame(image.copy(), i, i / 30.0, source_id="test.mp4")
            pipeline.process(frame)
            frames.append(frame)
            drawn.append(annotate(frame, pipeline))
    finally:
        pipeline.close()
    return frames, drawn


@pytest.fixture(scope="module", autouse=True)
def one_thread():  # noqa: ANN201 - a generator fixture
    """torch and numpy's BLAS on one thread for these tests, restored after each module.

    The two cores of the test machine are shared with other work, and two OpenMP threads that wait for each
    other at every layer then crawl: one EigenCAM heatmap of the shapes model took 2.9 s on two threads and
    15-20 ms on one, training the cat classifier 51 s against 12 s (measured). The results do not depend on it.
    """
    import torch
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def shapes_model() -> Path:
    """YOLO11n trained on circles, squares and triangles pasted on photos, at 128 (tests/fixtures, committed)."""
    return committed_model("shapes-yolo11n.pt")


@pytest.fixture(scope="session")
def cat_classifier():  # noqa: ANN201 - a torch module
    """A torchvision ResNet trained from scratch for 20-25 s to tell photos with chelsea's face pasted (class 1) from
    photos without (class 0).

    ResNet with one BasicBlock per stage (torchvision's ``ResNet(BasicBlock, [1, 1, 1, 1])``, half of ResNet-18)
    at 112 pixels: ResNet-18 at 96 took 30 s an epoch here. Trained on one thread (see ``one_thread``; the
    session-wide fixture may be made while another module's setting is in force, so it sets its own). Tests check
    it is good on held-out photos before relying on it.
    """
    import torch
    import torchvision
    from torchvision.models.resnet import BasicBlock

    from vision_desk.stages.classify.explain import frame_tensor

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        rng = np.random.default_rng(0)
        n, epochs, batch = 256, 5, 32  # 192 pictures left 2 of 40 held-out ones wrong with one seed, 256 none with two
        x = torch.cat([frame_tensor(cat_scene(rng, CAT_TRAIN_PHOTOS, i % 2 == 1)[0], CAT_INPUT) for i in range(n)])
        x = x.to(memory_format=torch.channels_last)  # 20% faster training steps on this CPU (measured)
        y = torch.arange(n) % 2
        model = torchvision.models.ResNet(BasicBlock, [1, 1, 1, 1], num_classes=2).to(memory_format=torch.channels_last)
        optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=3e-3, total_steps=epochs * ((n + batch - 1) // batch))
        model.train()
        for _ in range(epochs):
            order = torch.randperm(n)
            for start in range(0, n, batch):
                rows = order[start : start + batch]
                loss = torch.nn.functional.cross_entropy(model(x[rows]), y[rows])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                schedule.step()
        # Batch-norm statistics measured once more over the training set with the final weights: after 30 steps
        # the running averages still remember the first, untrained ones.
        with torch.no_grad():
            for module in model.modules():
                if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                    module.reset_running_stats()
                    module.momentum = None  # a plain average over the batches below
            for start in range(0, n, 64):
                model(x[start : start + 64])
        return model.eval()
    finally:
        torch.set_num_threads(threads)
