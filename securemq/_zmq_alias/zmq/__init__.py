"""The ``zmq`` found first on PYTHONPATH in programs started by ``python -m securemq.run``.

With SECUREMQ_AS_ZMQ set (to anything but "" or "0") it turns ``zmq`` into securemq (see
securemq.compat); without it, it loads the real pyzmq from the rest of ``sys.path``, so a
leftover PYTHONPATH entry changes nothing.
"""

import importlib.machinery
import importlib.util
import os
import sys

__securemq_shim__ = True


def _load_real_zmq() -> None:
    here = os.path.realpath(os.path.dirname(os.path.dirname(__file__)))
    rest = [p for p in sys.path if os.path.realpath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("zmq", rest)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError("No module named 'zmq'", name="zmq")
    module = importlib.util.module_from_spec(spec)
    sys.modules["zmq"] = module  # the import system returns what is here once this file ran
    spec.loader.exec_module(module)


if os.environ.get("SECUREMQ_AS_ZMQ", "") not in ("", "0"):
    import securemq.compat

    securemq.compat.install()
else:
    _load_real_zmq()
