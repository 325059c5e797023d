"""Running the course on a JupyterHub: the hub's configuration and its two environments.

Everything here is for the hub's admin, and runs under a bare ``python3`` (standard library
only), before any environment exists:

``jupyterhub_config.py``
    The hub itself (a root-owned copy, ``jupyterhub -f /etc/jupyterhub/...``): PAM log-in of the
    machine's accounts, one single-user server per student from the shared environment,
    and the formgrader as a hub service run by the grader account. Its settings are read
    from ``GDCOURSE_HUB_*`` environment variables, each with the default a fresh machine uses.
``python3 -m gdcourse.hub``
    Makes the two environments and installs the proxy (:mod:`gdcourse.hub.environments`).
    Each environment carries its Jupyter configuration in its own ``etc/jupyter`` (the hub's
    ``/etc/jupyter``, but for the accounts that run that environment only): for students the
    course id, the exchange and which nbgrader extensions they see; for the grader the
    exchange and formgrader.
"""

from __future__ import annotations

COURSE_ID = "gdcourse"
PROXY_PACKAGE = "configurable-http-proxy@5.3.0"
"""The proxy JupyterHub routes through, from npm, installed in a folder of its own."""
FORMGRADER_SERVICE = "formgrader"
"""The hub service that serves formgrader to the instructors and teaching assistants."""
