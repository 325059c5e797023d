"""Templates of the student edition (``gdcourse publish``, :mod:`gdcourse.tools.publish`).

``main.py`` becomes the edition's ``gdcourse/__main__.py``; the other files become the
edition's README, ``pyproject.toml``, ``requirements.txt`` (its header), ``binder/``,
``nbgrader_config.py`` and ``.gitignore``.
"""
