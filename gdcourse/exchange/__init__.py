"""A shared nbgrader exchange that no student account can subvert (README, "A shared exchange").

- :mod:`gdcourse.exchange.layout`: the folders, owners and modes, and the check of them.
- :mod:`gdcourse.exchange.student`: submit, fetch, fetch feedback and list (the student edition
  ships these two modules and this one).
- :mod:`gdcourse.exchange.staff`: release, collect and release feedback.
- :mod:`gdcourse.exchange.setup`: the admin's one-time ``python3 -m gdcourse.exchange setup``.

``nbgrader_config.py`` wires the classes in with ``c.ExchangeFactory.*``.
"""
