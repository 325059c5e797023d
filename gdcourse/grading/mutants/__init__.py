"""Mutation testing of the hidden checks: ``python3 -m gdcourse mutants ASSIGNMENT`` / ``--all``.

Mutants of each graded function's reference solution (:mod:`.operators`: generic operators
and the course's own misconceptions) and correct variants written differently
(:mod:`.variants`) are graded through the grader's own stages (:mod:`.pipeline`) and
classified (:mod:`.core`); the reports go to ``mutation/<assignment>.md`` and ``.json``
(:mod:`.report`), with the instructor's material: nothing here reaches the student edition.
"""
