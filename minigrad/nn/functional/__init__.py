"""Stateless layer functions, as `torch.nn.functional`: `import minigrad.nn.functional as F`."""
from ...creation import pad  # noqa: F401  (torch.nn.functional.pad)
from .activation import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .norm import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
