"""A notebook-style check of transposed convolution, written the PyTorch way: by hand (scatter loop and
the convolution's matrix), against nn.ConvTranspose2d and F.conv_transpose2d, and through the gradients."""
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim  # noqa: F401  (imported as every notebook does)


def trans_conv(X, K):
    """Each input pixel paints a copy of the kernel, scaled by the pixel (stride 1, no padding)."""
    h, w = K.shape
    Y = torch.zeros((X.shape[0] + h - 1, X.shape[1] + w - 1))
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            Y[i: i + h, j: j + w] += X[i, j] * K
    return Y


def conv_matrix(K, size, stride=1, padding=0):
    """The (out*out, size*size) matrix C of a single-channel convolution: conv2d(x) = C @ x.view(-1)."""
    k = K.shape[0]
    out = (size + 2 * padding - k) // stride + 1
    C = torch.zeros(out * out, size * size)
    for r in range(out):
        for c in range(out):
            for a in range(k):
                for b in range(k):
                    i, j = r * stride - padding + a, c * stride - padding + b
                    if 0 <= i < size and 0 <= j < size:
                        C[r * out + c, i * size + j] = K[a, b]
    return C


def build():
    tconv = nn.ConvTranspose2d(1, 1, kernel_size=3, stride=2, padding=1, bias=False)
    conv = nn.Conv2d(3, 5, kernel_size=3, stride=2, padding=1)
    up = nn.ConvTranspose2d(5, 3, kernel_size=3, stride=2, padding=1, output_padding=1)
    return {"tconv": tconv, "conv": conv, "up": up}


def data(rng):
    return {"K": rng.standard_normal((3, 3), dtype="float32"),
            "X": rng.standard_normal((2, 2), dtype="float32"),
            "x": rng.standard_normal((1, 1, 5, 5), dtype="float32"),
            "y": rng.standard_normal((1, 1, 3, 3), dtype="float32"),
            "images": rng.standard_normal((2, 3, 8, 8), dtype="float32"),
            "g": rng.standard_normal((2, 3, 8, 8), dtype="float32")}


def run(models, data):
    checks = {}
    K = torch.tensor(data["K"])
    X = torch.tensor(data["X"])

    # the scatter loop is nn.ConvTranspose2d with the same kernel
    tconv = nn.ConvTranspose2d(1, 1, kernel_size=3, bias=False)
    tconv.weight.data = K.reshape(1, 1, 3, 3)
    Y = trans_conv(X, K)
    checks["loop == layer"] = torch.allclose(Y, tconv(X.reshape(1, 1, 2, 2)).view(4, 4), atol=1e-6)

    # a stride-2, padding-1 convolution as a matrix; its transpose is the transposed convolution
    x, y = torch.from_numpy(data["x"]), torch.from_numpy(data["y"])
    weight = K.view(1, 1, 3, 3)
    C = conv_matrix(K, 5, stride=2, padding=1)
    conv_out = F.conv2d(x, weight, stride=2, padding=1)
    checks["conv == C @ x"] = torch.allclose(conv_out.view(-1), torch.matmul(C, x.view(-1)), atol=1e-6)
    t_out = F.conv_transpose2d(y, weight, stride=2, padding=1)
    checks["transposed == C.T @ y"] = torch.allclose(t_out.view(-1), torch.matmul(C.t(), y.view(-1)), atol=1e-6)
    models["tconv"].weight.data = weight
    checks["layer == C.T @ y"] = torch.allclose(models["tconv"](y), torch.matmul(C.T, y.view(-1)).view(1, 1, 5, 5),
                                                atol=1e-6)

    # the transposed convolution's input gradient is the convolution's forward pass, and back
    y.requires_grad_()
    out = F.conv_transpose2d(y, weight, stride=2, padding=1)
    g = torch.ones_like(out)
    out.backward(g)
    checks["grad of transposed == conv"] = torch.allclose(y.grad, F.conv2d(g, weight, stride=2, padding=1),
                                                         atol=1e-6)

    # an encoder/decoder pair: the transposed layer restores the shape the convolution took away
    conv, up = models["conv"], models["up"]
    images = torch.from_numpy(data["images"]).requires_grad_(True)
    code = conv(images)
    restored = up(code)
    checks["shape restored"] = restored.shape == images.shape
    code.retain_grad()
    restored.backward(torch.from_numpy(data["g"]))
    # up's input gradient is a convolution with up's weight (same stride and padding)
    expected = F.conv2d(torch.from_numpy(data["g"]), up.weight, stride=2, padding=1)
    checks["grad of layer == conv"] = torch.allclose(code.grad, expected, atol=1e-5)
    return {"checks": checks, "Y": Y, "C": C, "conv_out": conv_out, "t_out": t_out, "restored": restored,
            "images.grad": images.grad, "up.weight.grad": up.weight.grad, "conv.bias.grad": conv.bias.grad}
