"""Specifications of the graded functions: per-assignment judge data, one module each.

Each module ``gdcourse.grading.specs.<assignment>`` exposes ``SPECS``, a dict from
graded function name to a :class:`~gdcourse.grading.framework.FunctionSpec` (most
often a :class:`~gdcourse.grading.framework.Spec`). A spec module holds only what
the grader's own process needs to judge: the reference implementation, the wrong
"variants" named by misconceptions of :mod:`gdcourse.grading.misconceptions`, hints,
banned shortcuts and tolerances. How a function is called on a case is its
``probe``, which comes from ``gdcourse.grading.probes.<assignment>``: the only part
that runs next to a student's code.
"""
