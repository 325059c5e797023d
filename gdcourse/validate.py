"""``nbgrader validate`` as students need it: it names a path that holds no notebook, and its
success message says that hidden tests run after submission.

nbgrader 0.9's ``validate`` globs each path it is given and validates what matched, so a
mistyped path prints nothing at all and exits 0; and on success it prints "Success! Your
notebook passes all the tests.", when only the visible tests ran. nbgrader chooses the
class of a subcommand before it reads any configuration (``NbGraderApp.subcommands``), and its
``ValidateApp`` makes a plain :class:`nbgrader.validator.Validator`, so no setting reaches
either. :class:`ValidateApp` and :class:`Validator` are the two subclasses that do this, and
:func:`use_in_nbgrader_validate`, called by ``nbgrader_config.py`` (which ``nbgrader validate``
reads before it starts), makes the running ``nbgrader validate`` one of them. Nothing changes
for any other nbgrader command, nor for the JupyterLab server, which reads the same file.

The message of JupyterLab's *Validate* button is written into nbgrader's JupyterLab extension
(its JavaScript), whatever the server answers: gdcourse's own small extension,
``gdcourse/labextension/gdcourse-validate`` (installed in the environment by
``gdcourse build``, and by ``pip install`` of the student edition), puts :data:`SUCCESS` in
its place.
"""

from __future__ import annotations

import glob
import os
import traceback

from nbgrader.apps.validateapp import ValidateApp as _NbgraderValidateApp
from nbgrader.nbgraderformat import SchemaTooNewError, SchemaTooOldError
from nbgrader.validator import Validator as _NbgraderValidator
from traitlets import Unicode

__all__ = ["SUCCESS", "ValidateApp", "Validator", "missing_notebooks", "use_in_nbgrader_validate"]

SUCCESS = (
    "Success! Your notebook passes all the visible tests. The hidden tests, on inputs you have "
    "not seen, run after you submit: your feedback shows them.\n"
)
"""What ``nbgrader validate`` prints when no visible test fails."""

WHERE = "an assignment you fetched or started is in work/<assignment>/<assignment>.ipynb"


class Validator(_NbgraderValidator):  # type: ignore[misc]
    """nbgrader's validator, whose success message says what was not run."""

    success_message = Unicode(
        SUCCESS, help="What validate prints when every graded test cell passes."
    ).tag(config=True)

    def _print_num_failed(self, num_failed: int) -> None:
        if num_failed == 0:
            self.stream.write(self.success_message)
            return
        super()._print_num_failed(num_failed)


def missing_notebooks(paths: list[str]) -> list[str]:
    """Why each of ``paths`` names no notebook ([] when each matches one or more files).

    >>> print(*missing_notebooks(["no/such/notebook.ipynb"]))
    no/such/notebook.ipynb: there is no such file (an assignment you fetched or started is in
    work/<assignment>/<assignment>.ipynb)
    """
    problems = []
    for path in paths:
        matched = glob.glob(path)
        if not matched:
            problems.append(f"{path}: there is no such file ({WHERE})")
        elif all(os.path.isdir(m) for m in matched):
            problems.append(f"{path}: is a folder; name the notebook in it ({WHERE})")
    return problems


class ValidateApp(_NbgraderValidateApp):  # type: ignore[misc]
    """``nbgrader validate`` that fails with a message for a path that holds no notebook,
    and validates with :class:`Validator`."""

    def start(self) -> None:
        if not self.extra_args:
            self.fail(
                "Which notebook? e.g. nbgrader validate work/ps1_gradients/ps1_gradients.ipynb"
            )
        problems = missing_notebooks(list(self.extra_args))
        if problems:
            self.fail("Nothing was validated.\n" + "\n".join(problems))
        validator = Validator(parent=self)
        for path in self.extra_args:
            for filename in sorted(glob.glob(path)):
                if os.path.isdir(filename):
                    continue
                try:
                    validator.validate_and_print(filename)
                except (SchemaTooOldError, SchemaTooNewError):
                    self.log.error(traceback.format_exc())
                    self.fail(
                        f"The notebook {filename!r} has nbgrader metadata of another version "
                        "than this nbgrader's: ask your instructor for a fresh copy."
                    )
                except Exception:
                    self.log.error(traceback.format_exc())
                    self.fail(f"nbgrader could not validate {filename!r}: the error is above.")


def use_in_nbgrader_validate() -> None:
    """Make the running ``nbgrader validate`` (if this process runs one) a :class:`ValidateApp`.

    ``nbgrader_config.py`` calls this; any other application reading it is left alone.
    """
    from traitlets.config import Application

    if not Application.initialized():
        return
    app = Application.instance()
    if type(app) is _NbgraderValidateApp:
        app.__class__ = ValidateApp
