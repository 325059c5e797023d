"""``python -m gdcourse``: the same as the ``gdcourse`` command."""

from gdcourse.tools.cli import main

raise SystemExit(main())
