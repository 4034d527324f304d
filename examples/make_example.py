#!/usr/bin/python3
"""make_example.py - regenerate the bundled example model examples/tiny_cnn.onnx.

A small but real CNN for 3x32x32 images and 10 classes: three
Conv-BatchNorm-ReLU blocks (two followed by 2x2 max pooling), global average
pooling, and a Linear layer (Gemm).  Weights and BatchNorm statistics are
random with a fixed seed, so the file is reproducible byte for byte with the
same torch version.  The batch dimension is dynamic and named "N".

It also writes a fixed input (tiny_cnn.input.npy, shape 1x3x32x32, float32)
and the output torch computes for it (tiny_cnn.output.npy), which backends can
be checked against.

This script only exports; it does not run or check tessel.
Usage: /usr/bin/python3 examples/make_example.py [OUT_DIR]   (default: examples/)
"""
import os
import sys

import numpy as np
import onnx
import torch
from torch import nn

SEED = 20240611
OPSET = 13


def block(cin, cout, pool):
    layers = [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
    if pool:
        layers.append(nn.MaxPool2d(2))
    return layers


class TinyCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(*block(3, 8, True), *block(8, 16, True), *block(16, 16, False))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.pool(self.features(x))
        return self.fc(torch.flatten(x, 1))


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    torch.manual_seed(SEED)
    model = TinyCNN()
    # Non-trivial BatchNorm statistics, so folding them is actually tested.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    model.eval()

    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(SEED + 1))
    with torch.no_grad():
        y = model(x)

    path = os.path.join(out_dir, "tiny_cnn.onnx")
    # PRESERVE keeps BatchNormalization as its own (inference-mode) node
    # instead of letting the exporter fold it into the convolution.
    torch.onnx.export(model, x, path, opset_version=OPSET,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
                      training=torch.onnx.TrainingMode.PRESERVE,
                      do_constant_folding=False)
    # torch names every graph "torch_jit"; give it the model's name.
    proto = onnx.load(path)
    proto.graph.name = "tiny_cnn"
    onnx.save(proto, path)
    np.save(os.path.join(out_dir, "tiny_cnn.input.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(out_dir, "tiny_cnn.output.npy"), y.numpy().astype(np.float32))
    print("wrote %s (%d bytes)" % (path, os.path.getsize(path)))


if __name__ == "__main__":
    main()
