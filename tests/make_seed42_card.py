"""PyTorch's real seed-42 numbers for the reference card of the source documents (seeds/001).

Chapter 7 reproduces every block the card prints. minigrad's random generator is not PyTorch's, so the
card's weights cannot be drawn in minigrad; this script runs each of the card's snippets in PyTorch,
exactly as printed (torch.manual_seed(42), then the layer, then the call), and keeps what they drew and
computed: each layer's state_dict (weight, bias), its input and PyTorch's output, as NumPy arrays in a
minigrad checkpoint, book/data/seed42_card.npz, which the chapter reads with `minigrad.load`.
No printed number of the card goes in: the file holds only what PyTorch itself produced.

Regenerate it (from the repository root, with torch installed) with

    python tests/make_seed42_card.py

tests/test_seed_card.py runs the same snippets live and compares them with the file, so a PyTorch whose
seed-42 draws or kernels changed is caught.
"""
import os
import sys

import torch
from torch import nn

CARD_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "book", "data", "seed42_card.npz")


def _block(layer, input, output):
    return {"state_dict": {k: v.detach().numpy().copy() for k, v in layer.state_dict().items()},
            "input": input.detach().numpy().copy(), "output": output.detach().numpy().copy()}


def card_snippets():
    """Run the card's snippets in PyTorch, in the card's order; a dict of blocks named after the card's
    variables, each {"state_dict": {"weight", "bias"}, "input", "output"} of NumPy arrays."""
    blocks = {}

    # 1 -> 3 channels on the 3-D (unbatched) input (C=1, H=1, W=6)
    tensor1 = torch.tensor([[[8., -3., 0., 1., 5., -2.]]])
    torch.manual_seed(42)
    convtran2d1 = nn.ConvTranspose2d(in_channels=1, out_channels=3, kernel_size=1)
    tensor2 = convtran2d1(input=tensor1)
    blocks["convtran2d1"] = _block(convtran2d1, tensor1, tensor2)

    # 3 -> 3 channels on the first layer's output
    torch.manual_seed(42)
    convtran2d2 = nn.ConvTranspose2d(in_channels=3, out_channels=3, kernel_size=1)
    blocks["convtran2d2"] = _block(convtran2d2, tensor2, convtran2d2(input=tensor2))

    # every argument spelled out, with its default
    torch.manual_seed(42)
    convtran2d = nn.ConvTranspose2d(in_channels=1, out_channels=3,
                                    kernel_size=1, stride=1, padding=0, output_padding=0,
                                    groups=1, bias=True, dilation=1, padding_mode='zeros',
                                    device=None, dtype=None)
    blocks["all_arguments"] = _block(convtran2d, tensor1, convtran2d(input=tensor1))

    # the same six numbers as a 2 x 3 image (C=1, H=2, W=3)
    my_tensor = torch.tensor([[[8., -3., 0.],
                               [1., 5., -2.]]])
    torch.manual_seed(42)
    convtran2d = nn.ConvTranspose2d(in_channels=1, out_channels=3,
                                    kernel_size=1)
    blocks["rows_2x3"] = _block(convtran2d, my_tensor, convtran2d(input=my_tensor))

    # ... and as a column (C=1, H=6, W=1)
    my_tensor = torch.tensor([[[8.], [-3.], [0.],
                               [1.], [5.], [-2.]]])
    torch.manual_seed(42)
    convtran2d = nn.ConvTranspose2d(in_channels=1, out_channels=3, kernel_size=1)
    blocks["column_6x1"] = _block(convtran2d, my_tensor, convtran2d(input=my_tensor))

    # a batch of one 2-channel 3 x 1 image (N=1, C=2, H=3, W=1): 2 -> 3 channels
    my_tensor = torch.tensor([[[[8.], [-3.], [0.]],
                               [[1.], [5.], [-2.]]]])
    torch.manual_seed(42)
    convtran2d = nn.ConvTranspose2d(in_channels=2, out_channels=3, kernel_size=1)
    blocks["two_channels"] = _block(convtran2d, my_tensor, convtran2d(input=my_tensor))

    # the same input as complex64, into a complex64 layer
    my_tensor = torch.tensor([[[[8.+0.j], [-3.+0.j], [0.+0.j]],
                               [[1.+0.j], [5.+0.j], [-2.+0.j]]]])
    torch.manual_seed(42)
    convtran2d = nn.ConvTranspose2d(in_channels=2, out_channels=3,
                                    kernel_size=1, dtype=torch.complex64)
    blocks["complex64"] = _block(convtran2d, my_tensor, convtran2d(input=my_tensor))
    return blocks


def main(path=CARD_FILE):
    import minigrad  # only to write the checkpoint in the format minigrad.load reads

    os.makedirs(os.path.dirname(path), exist_ok=True)
    minigrad.save({"torch_version": torch.__version__, "blocks": card_snippets()}, path)
    print(f"wrote {os.path.normpath(path)} ({os.path.getsize(path)} bytes) with torch {torch.__version__}")


if __name__ == "__main__":
    main(*sys.argv[1:])
