"""``python -m pmm_lib.cli``: the same entry point as the ``pmm`` console script."""

import sys

from pmm_lib.cli import main

sys.exit(main())
