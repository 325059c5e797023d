"""nbgrader configuration: the repository root is the course directory.

Masters live in ``solutions/<assignment>/`` (nbgrader's "source" folder) and
``nbgrader generate_assignment`` (or ``gdcourse release``) writes the student
versions to ``exercises/<assignment>/`` (nbgrader's "release" folder).
Instructor working folders (``submitted/``, ``autograded/``, ``feedback/``,
``gradebook.db``) sit next to this file and are git-ignored.
"""

from pathlib import Path

c = get_config()  # type: ignore[name-defined]  # noqa: F821  (injected by traitlets)

# ---------------------------------------------------------------- course layout (assignments)
c.CourseDirectory.course_id = "gdcourse"
c.CourseDirectory.root = str(Path(__file__).resolve().parent)
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"

# ---------------------------------------------------------------- grading (secure autograder)
# The grading engineer's Autograde / GenerateFeedback settings go here.
