"""Stateless layer functions, as `torch.nn.functional`: `import minigrad.nn.functional as F`."""
from .padding import *  # noqa: F401,F403
from .activation import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .norm import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
