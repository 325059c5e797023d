"""``python -m gdcourse``: the same as the ``gdcourse`` command."""

from gdcourse.cli import main

raise SystemExit(main())
