"""The reference card (seeds/001) with PyTorch's real seed-42 weights: book/data/seed42_card.npz, which
chapter 7 loads, against PyTorch live (so a drift of PyTorch's draws or of the file is caught), and
minigrad's outputs against both and against the digits the card prints."""
import numpy as np
import pytest
import torch

import minigrad
from minigrad import nn
from tests.helpers import assert_close
from tests.make_seed42_card import CARD_FILE, card_snippets, main

STORED = minigrad.load(CARD_FILE)["blocks"]

ROW = [[[4.0616, -0.7939, 0.5304, 0.9718, 2.7374, -0.3525]],
       [[3.7071, -1.5641, -0.1265, 0.3527, 2.2695, -1.0849]],
       [[-0.9656, 0.5223, 0.1165, -0.0188, -0.5598, 0.3870]]]
PRINTED = {  # the card's printed outputs, block by block
    "convtran2d1": ROW,
    "convtran2d2": [[[3.6068, -1.7503, -0.2893, 0.1977, 2.1458, -1.2633]],
                    [[1.6518, 0.4964, 0.8115, 0.9165, 1.3367, 0.6014]],
                    [[-0.5008, 0.2990, 0.0809, 0.0082, -0.2827, 0.2263]]],
    "all_arguments": ROW,
    "rows_2x3": np.reshape(ROW, (3, 2, 3)),
    "column_6x1": np.reshape(ROW, (3, 6, 1)),
    "two_channels": [[[[3.7805], [1.0465], [-1.3418]], [[4.0462], [-1.7310], [0.5921]], [[-0.4566], [1.4973], [0.2760]]]],
    "complex64": [[[[3.6767 + 4.2509j], [-2.3031 + 0.3359j], [0.9887 - 0.5999j]],
                   [[-0.2947 + 3.7378j], [3.2290 - 3.7904j], [-0.7395 + 0.7656j]],
                   [[-0.0651 + 1.1254j], [3.3337 + 0.2761j], [-0.5586 - 0.1308j]]]],
}


@pytest.fixture(scope="module")
def live():
    return card_snippets()


def test_the_file_holds_every_block_of_the_card():
    assert list(STORED) == list(PRINTED)
    for block in STORED.values():
        assert set(block) == {"state_dict", "input", "output"} and set(block["state_dict"]) == {"weight", "bias"}


@pytest.mark.parametrize("name", list(PRINTED))
def test_the_file_is_what_pytorch_draws_and_computes_now(name, live):
    stored, now = STORED[name], live[name]
    for key in ("weight", "bias"):
        assert stored["state_dict"][key].dtype == now["state_dict"][key].dtype
        np.testing.assert_array_equal(stored["state_dict"][key], now["state_dict"][key], err_msg=f"{name}.{key}")
    np.testing.assert_array_equal(stored["input"], now["input"])
    assert stored["output"].dtype == now["output"].dtype
    assert_close(stored["output"], now["output"], atol=1e-6, rtol=1e-6, what=f"{name} output")


def within_float32_rounding(actual, expected):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    assert np.abs(actual - expected).max() <= np.spacing(np.abs(expected).max())


@pytest.mark.parametrize("name", list(PRINTED))
def test_minigrad_with_pytorchs_weights_prints_the_card(name):
    block = STORED[name]
    weight = block["state_dict"]["weight"]
    dtype = minigrad.complex64 if weight.dtype == np.complex64 else None
    layer = nn.ConvTranspose2d(weight.shape[0], weight.shape[1], kernel_size=1, dtype=dtype)
    layer.load_state_dict(block["state_dict"])
    out = layer(minigrad.tensor(block["input"])).numpy()

    within_float32_rounding(out, block["output"])                     # PyTorch's output, stored
    theirs = torch.nn.ConvTranspose2d(weight.shape[0], weight.shape[1], kernel_size=1,
                                      dtype=torch.complex64 if dtype else None)
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in block["state_dict"].items()})
    within_float32_rounding(out, theirs(torch.from_numpy(block["input"])).detach().numpy())  # and live
    wide = np.complex128 if dtype else np.float64
    np.testing.assert_array_equal(np.round(out.astype(wide), 4), np.asarray(PRINTED[name]))  # the card's digits


def test_the_script_writes_the_committed_file(tmp_path):
    main(str(tmp_path / "card.npz"))
    written = minigrad.load(tmp_path / "card.npz")
    assert written["torch_version"] == torch.__version__
    for name, block in STORED.items():
        for key in ("weight", "bias"):
            np.testing.assert_array_equal(written["blocks"][name]["state_dict"][key], block["state_dict"][key])


# ---- the card's statements that chapter 7 corrects, in PyTorch and in minigrad ------------------------

def test_channel_counts_are_ints_and_may_be_zero():
    with pytest.raises(TypeError):
        torch.nn.ConvTranspose2d(1.0, 3.0, kernel_size=1)
    with pytest.raises((TypeError, ValueError)):
        nn.ConvTranspose2d(1.0, 3.0, kernel_size=1)
    assert torch.nn.ConvTranspose2d(0, 3, kernel_size=1).weight.shape == (0, 3, 1, 1)
    assert nn.ConvTranspose2d(0, 3, kernel_size=1).weight.shape == (0, 3, 1, 1)


def test_padding_is_limited_only_by_the_output_size():
    x = np.zeros((1, 8, 8), dtype=np.float32)
    assert tuple(torch.nn.ConvTranspose2d(1, 1, 2, padding=3)(torch.from_numpy(x)).shape) == (1, 3, 3)
    assert nn.ConvTranspose2d(1, 1, 2, padding=3)(minigrad.tensor(x)).shape == (1, 3, 3)
    row = np.array([[[8., -3., 0., 1., 5., -2.]]], dtype=np.float32)
    for padding in (1, -1):  # an output height of -1; negative padding (both layers build, the call refuses)
        with pytest.raises(RuntimeError):
            torch.nn.ConvTranspose2d(1, 3, 1, padding=padding)(torch.from_numpy(row))
        with pytest.raises(RuntimeError):
            nn.ConvTranspose2d(1, 3, 1, padding=padding)(minigrad.tensor(row))
    with pytest.raises(RuntimeError):
        torch.nn.ConvTranspose2d(1, 3, 1, output_padding=1)(torch.from_numpy(row))
    with pytest.raises(RuntimeError):
        nn.ConvTranspose2d(1, 3, 1, output_padding=1)(minigrad.tensor(row))


def test_device_and_dtype_live_on_tensors_not_on_modules():
    for layer, complex_layer in [(torch.nn.ConvTranspose2d(1, 3, 1), torch.nn.ConvTranspose2d(2, 3, 1, dtype=torch.complex64)),
                                 (nn.ConvTranspose2d(1, 3, 1), nn.ConvTranspose2d(2, 3, 1, dtype=minigrad.complex64))]:
        for attribute in ("device", "dtype"):
            with pytest.raises(AttributeError):
                getattr(layer, attribute)
        assert str(layer.weight.device) == str(layer.bias.device) == "cpu"
        assert str(layer.weight.dtype).endswith("float32") and str(complex_layer.bias.dtype).endswith("complex64")
