"""``python3 -m gdcourse.exchange setup --root DIR --course ID --instructor USER
--staff-group GROUP --students-group GROUP``: make a course's shared exchange, as root."""

from __future__ import annotations

import argparse
import sys

from gdcourse.exchange.setup import Plan, SetupError, hub_config, setup


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 -m gdcourse.exchange",
        description="Make a course's shared nbgrader exchange that no student can subvert.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    made = commands.add_parser(
        "setup",
        help="create the exchange (as root, once; running it again changes nothing)",
        description="Create ROOT (root's, 0711), ROOT/COURSE (root:STAFF, 0751) and its "
        "outbound (INSTRUCTOR:STUDENTS, 2750), inbound (INSTRUCTOR:STAFF, 3753, a drop box) "
        "and feedback (INSTRUCTOR:STAFF, 2771) folders, or bring existing ones to that shape.",
    )
    made.add_argument(
        "--root", required=True, help="the exchange root, e.g. /srv/nbgrader/exchange"
    )
    made.add_argument("--course", required=True, help="the course id (nbgrader's course_id)")
    made.add_argument("--instructor", required=True, help="the account that releases")
    made.add_argument(
        "--staff-group", required=True, help="the group that collects and releases feedback"
    )
    made.add_argument("--students-group", required=True, help="the course's students' group")
    args = parser.parse_args(argv)
    plan = Plan(args.root, args.course, args.instructor, args.staff_group, args.students_group)
    try:
        done = setup(plan)
    except SetupError as error:
        print(f"setup refused, nothing changed: {error}", file=sys.stderr)
        return 2
    print("\n".join(done))
    config = hub_config(args.root, args.course)
    print(f"\nEvery account's /etc/jupyter/nbgrader_config.py needs:\n\n{config}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
