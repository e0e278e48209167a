"""`python -m keeper.app.cli`: the same as `drift-if`."""

from keeper.app.cli import main

raise SystemExit(main())
