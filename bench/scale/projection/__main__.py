"""``python -m bench.scale.projection``: the projection command."""

from bench.scale.projection.cli import main

raise SystemExit(main())
