"""A student at JupyterLab's *Assignment List*, without the browser.

``python assignment_list.py ROOT ASSIGNMENT ACTION...`` drives nbgrader's own
``AssignmentList`` (the object behind the tab's buttons), which reads the configuration
as JupyterLab does: from the folder JupyterLab runs in (``ROOT``), then from the folder
assignments are fetched to. The actions run in order: ``courses`` prints the course ids
(the tab's drop-down); ``fetch``, ``submit`` and ``fetch_feedback`` press those buttons;
``fill=PATH`` copies the notebook at PATH over the fetched one, as a student's work. Each
reply is printed as JSON; the first that says it failed ends the run with status 1.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from nbgrader.server_extensions.assignment_list.handlers import AssignmentList

COURSE = "gdcourse"


def main(root: str, assignment: str, *actions: str) -> int:
    tab = AssignmentList()
    tab.root_dir = root
    for action in actions:
        if action.startswith("fill="):
            fetched = Path(root) / "work" / assignment / f"{assignment}.ipynb"
            shutil.copy(action.removeprefix("fill="), fetched)
            continue
        if action == "courses":
            reply = tab.list_courses()
        elif action == "fetch":
            reply = tab.fetch_assignment(COURSE, assignment)
        elif action == "submit":
            reply = tab.submit_assignment(COURSE, assignment)
        elif action == "fetch_feedback":
            reply = tab.fetch_feedback(COURSE, assignment)
        else:
            allowed = "courses, fetch, fill=PATH, submit, fetch_feedback"
            raise SystemExit(f"unknown action {action!r}; allowed: {allowed}")
        print(action, json.dumps(reply, default=str), flush=True)
        if not reply.get("success"):
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:]))
