"""``python -m rtcconsole.cli``."""

from rtcconsole.cli import main

raise SystemExit(main())
