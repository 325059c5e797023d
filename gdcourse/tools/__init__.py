"""Repository tooling: the ``gdcourse`` command, the project environment, the book build and
the student release.

These modules serve the people who build, test and run the course (authors, instructors,
CI); book pages and student notebooks never import them. The teaching library
(``gdcourse.optimizers``, ``objectives``, ``datasets``, ``plotting``, ``widgets``...) and
the grader (``gdcourse.grading``) live beside this package; ``gdcourse.course`` is the one
place that knows a course's layout.
"""
