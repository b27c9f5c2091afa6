"""Writes the PyTorch-import fixtures used by tests/torch_import.rs.

    python scripts/make_torch_import_fixture.py

* tests/fixtures/torch_import_mlp.safetensors: the state_dict of an nn.Sequential MLP,
  saved with safetensors.torch.save_file, as a user would.
* tests/fixtures/torch_import_cnn.safetensors: the state_dict of a small CNN
  (Conv2d + ReLU + MaxPool2d + Conv2d + BatchNorm2d + ReLU + Flatten + Linear + ReLU + Linear),
  an ordinary torch model: NCHW, nn.Flatten over [C, H, W]. On the stratanet side the
  same data is channels-last (NHWC) and the first Dense kernel's rows are permuted from
  [C, H, W] to [H, W, C] order by the importer (Layout::LinearAfterNchwFlatten).
* tests/fixtures/torch_import_io.safetensors: inputs and torch outputs (eval mode):
  mlp_x [5, 6], mlp_y [5, 3], cnn_x [4, 8, 8, 3] (NHWC, the torch input permuted),
  cnn_y [4, 3].
"""
import os

import torch
from safetensors.torch import save_file

torch.manual_seed(7)
here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")

mlp = torch.nn.Sequential(
    torch.nn.Linear(6, 16),
    torch.nn.ReLU(),
    torch.nn.Linear(16, 8),
    torch.nn.Tanh(),
    torch.nn.Linear(8, 3),
).eval()
mlp_x = torch.randn(5, 6)
with torch.no_grad():
    mlp_y = mlp(mlp_x)

cnn = torch.nn.Sequential(
    torch.nn.Conv2d(3, 4, 3, padding=1),
    torch.nn.ReLU(),
    torch.nn.MaxPool2d(2),
    torch.nn.Conv2d(4, 6, 3),
    torch.nn.BatchNorm2d(6),
    torch.nn.ReLU(),
    torch.nn.Flatten(),
    torch.nn.Linear(6 * 2 * 2, 10),
    torch.nn.ReLU(),
    torch.nn.Linear(10, 3),
)
# Non-trivial running statistics and affine parameters for the batch norm.
with torch.no_grad():
    cnn.train()
    for _ in range(3):
        cnn(torch.randn(16, 3, 8, 8) * 2 + 0.5)
    cnn[4].weight.uniform_(0.5, 1.5)
    cnn[4].bias.uniform_(-0.5, 0.5)
cnn.eval()
cnn_x = torch.randn(4, 3, 8, 8)
with torch.no_grad():
    cnn_y = cnn(cnn_x)

save_file({k: v.contiguous() for k, v in mlp.state_dict().items()},
          os.path.join(here, "torch_import_mlp.safetensors"))
save_file({k: v.contiguous() for k, v in cnn.state_dict().items()},
          os.path.join(here, "torch_import_cnn.safetensors"))
save_file(
    {
        "mlp_x": mlp_x.contiguous(),
        "mlp_y": mlp_y.contiguous(),
        "cnn_x": cnn_x.permute(0, 2, 3, 1).contiguous(),
        "cnn_y": cnn_y.contiguous(),
    },
    os.path.join(here, "torch_import_io.safetensors"),
)
print("wrote torch_import_{mlp,cnn,io}.safetensors")
