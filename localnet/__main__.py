"""`python -m localnet`: see localnet.app."""

import sys

from localnet.app import main

sys.exit(main())
