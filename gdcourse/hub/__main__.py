"""``python3 -m gdcourse.hub``: the hub's environments and proxy (gdcourse.hub.environments)."""

from gdcourse.hub.environments import main

raise SystemExit(main())
