"""Suite-wide settings: one intra-op thread.

The test models are tiny; on a shared 2-core machine PyTorch's OpenMP threads spin against other
processes and make small ops orders of magnitude slower, so the suite runs single-threaded.
"""

import torch

torch.set_num_threads(1)
