"""Conv2d and ConvTranspose2d: PyTorch's layers (arguments, attributes, repr, state_dict, init)."""
from .. import shapes
from ..creation import zeros
from . import functional as F
from .functional.checks import check_padding_string
from . import init
from .module import Module, Parameter
from ..shapes import pair

__all__ = ["Conv2d", "ConvTranspose2d"]

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """What both layers share: checked settings, weight and bias, PyTorch's initialization and repr."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, transposed,
                 output_padding, groups, bias, padding_mode, device, dtype):
        super().__init__()
        if not isinstance(groups, int) or groups <= 0:
            raise ValueError(f"groups must be a positive integer, got groups={groups!r}")
        for name, channels in (("in_channels", in_channels), ("out_channels", out_channels)):
            if isinstance(channels, bool) or not isinstance(channels, int):  # PyTorch: a TypeError from the shape
                raise TypeError(f"{name} must be an int, got {name}={channels!r}")
            if channels < 0 or channels % groups:
                raise ValueError(f"{name} must be divisible by groups (and not negative), got {name}={channels!r}, "
                                 f"groups={groups}")
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {PADDING_MODES}, but got padding_mode={padding_mode!r}")
        self.kernel_size, self.stride = pair(kernel_size, "kernel_size"), pair(stride, "stride")
        self.dilation, self.output_padding = pair(dilation, "dilation"), pair(output_padding, "output_padding")
        if isinstance(padding, str):
            check_padding_string(padding, self.stride, ValueError)
        self.padding = padding if isinstance(padding, str) else pair(padding, "padding")
        # the other settings are checked by F.conv2d / F.conv_transpose2d at forward, as PyTorch does
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.transposed, self.padding_mode = transposed, padding_mode
        # F.pad's (left, right, top, bottom) for the non-zero padding modes.
        if self.padding == "same":
            (top, bottom), (left, right) = (shapes.same_padding(k, d) for k, d in zip(self.kernel_size, self.dilation))
        else:
            top, left = (0, 0) if self.padding == "valid" else self.padding
            bottom, right = top, left
        self._reversed_padding_repeated_twice = [left, right, top, bottom]
        weight_shape = (in_channels, out_channels // groups) if transposed else (out_channels, in_channels // groups)
        self.weight = Parameter(zeros(*weight_shape, *self.kernel_size, device=device, dtype=dtype))
        # registered even when None (as PyTorch), so assigning a plain tensor there is refused
        self.register_parameter("bias", Parameter(zeros(out_channels, device=device, dtype=dtype)) if bias else None)
        self.reset_parameters()

    def reset_parameters(self):
        """Uniform in +-1/sqrt(fan_in), fan_in = weight.shape[1] * kH * kW, for weight and bias. For
        ConvTranspose2d, weight.shape[1] is out_channels / groups: PyTorch's quirk, reproduced."""
        init._layer_default_(self.weight, self.bias)

    def extra_repr(self):
        settings = dict(padding=self.padding, dilation=self.dilation, output_padding=self.output_padding,
                        groups=self.groups, bias=self.bias is not None, padding_mode=self.padding_mode)
        defaults = dict(padding=(0, 0), dilation=(1, 1), output_padding=(0, 0), groups=1, bias=True, padding_mode="zeros")
        changed = "".join(f", {k}={v}" for k, v in settings.items() if v != defaults[k])  # as PyTorch, only these
        return f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}{changed}"


class Conv2d(_ConvNd):
    """input (N, C_in, H, W) or (C_in, H, W) -> (N, C_out, Ho, Wo); weight (C_out, C_in/groups, kH, kW).

    Ho = floor((H + 2*padding - dilation*(kH - 1) - 1) / stride) + 1. padding_mode "reflect",
    "replicate" or "circular" pads the input explicitly, then convolves without padding."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, False, 0, groups,
                         bias, padding_mode, device, dtype)

    def forward(self, input):
        if self.padding_mode == "zeros":
            return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        padded = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
        return F.conv2d(padded, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class ConvTranspose2d(_ConvNd):
    """input (N, C_in, H, W) or (C_in, H, W) -> (N, C_out, Hout, Wout); weight (C_in, C_out/groups, kH, kW).

    Hout = (H - 1)*stride - 2*padding + dilation*(kH - 1) + output_padding + 1; forward's
    output_size picks output_padding instead. Only padding_mode="zeros" and integer padding."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for ConvTranspose2d, got {padding_mode!r}')
        if isinstance(padding, str):
            raise ValueError(f"ConvTranspose2d takes an int or a pair of ints as padding, got padding={padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, True, output_padding,
                         groups, bias, padding_mode, device, dtype)

    def forward(self, input, output_size=None):
        output_padding = self.output_padding if output_size is None else self._output_padding(input, output_size)
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding, output_padding,
                                  self.groups, self.dilation)

    def _output_padding(self, input, output_size):
        """The output_padding that gives output_size: (H, W), or with the batch/channel dims in front."""
        spatial = input.shape[-2:]
        output_size = [int(n) for n in output_size]
        if len(output_size) == input.ndim:
            output_size = output_size[-2:]
        if len(output_size) != 2:
            raise ValueError(f"ConvTranspose2d: for {input.ndim}D input, output_size must have 2 or {input.ndim} "
                             f"elements (got {len(output_size)})")
        ranges = [shapes.output_size_range(*a) for a in zip(spatial, self.kernel_size, self.stride, self.padding,
                                                                 self.dilation)]
        if any(not low <= n <= high for n, (low, high) in zip(output_size, ranges)):
            raise ValueError(f"requested an output size of {output_size}, but valid sizes range from "
                             f"{[low for low, _ in ranges]} to {[high for _, high in ranges]} "
                             f"(for an input of {tuple(spatial)})")
        return tuple(n - low for n, (low, _) in zip(output_size, ranges))
