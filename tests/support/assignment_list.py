"""A student at JupyterLab's *Assignment List*, without the browser: ``python assignment_list.py
ROOT ACTION [ASSIGNMENT]``.

It drives nbgrader's own ``AssignmentList`` (the object behind the tab's buttons), which reads
the configuration as JupyterLab does: from the folder JupyterLab runs in (``ROOT``), then from
the folder assignments are fetched to. ``courses`` prints the course ids (the tab's drop-down),
``fetch``, ``submit`` and ``fetch_feedback`` press those buttons. It prints the reply as JSON and
exits 1 when the reply says it failed.
"""

from __future__ import annotations

import json
import sys

from nbgrader.server_extensions.assignment_list.handlers import AssignmentList


def main(root: str, action: str, assignment: str = "") -> int:
    tab = AssignmentList()
    tab.root_dir = root
    if action == "courses":
        reply = tab.list_courses()
    elif action == "fetch":
        reply = tab.fetch_assignment("gdcourse", assignment)
    elif action == "submit":
        reply = tab.submit_assignment("gdcourse", assignment)
    elif action == "fetch_feedback":
        reply = tab.fetch_feedback("gdcourse", assignment)
    else:
        allowed = "courses, fetch, submit, fetch_feedback"
        raise SystemExit(f"unknown action {action!r}; allowed: {allowed}")
    print(json.dumps(reply, default=str))
    return 0 if reply.get("success") else 1


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:]))
