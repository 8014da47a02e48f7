"""``python -m pbxd``: the same as the ``pbxd`` command."""

import sys

from pbxd.cli import main

sys.exit(main())
