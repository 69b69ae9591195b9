"""securemq.compat and ``python -m securemq.run``: unmodified pyzmq programs on securemq.

The alias changes a process's imports, and this test process has pyzmq imported, so the alias
itself is exercised in child processes (each bounded by a timeout); they print JSON facts that
the tests check.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import zmq as pyzmq

import securemq
import securemq.asyncio
from securemq import compat

TIMEOUT = 30


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", compat.ENV_VAR)}
    env.update(extra)
    return env


def python(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
           check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True,
                            timeout=TIMEOUT, env=env if env is not None else clean_env(),
                            cwd=cwd, check=False)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def facts(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(result.stdout.strip().splitlines()[-1])


def write(path: Path, source: str) -> Path:
    path.write_text(textwrap.dedent(source))
    return path


PROBE = """
    import json, sys
    import zmq, zmq.asyncio, zmq.auth, zmq.auth.thread, zmq.utils.monitor
    import zmq.eventloop.zmqstream, zmq.devices, zmq.log.handlers, zmq.sugar.socket
    import zmq.backend, zmq.utils.jsonapi, zmq.decorators
    from zmq.eventloop.zmqstream import ZMQStream
    import securemq, securemq.asyncio, securemq.auth.thread, securemq.eventloop.zmqstream
    print(json.dumps({
        "zmq_is_securemq": zmq is securemq,
        "asyncio": zmq.asyncio is securemq.asyncio,
        "auth_thread": zmq.auth.thread is securemq.auth.thread,
        "zmqstream": ZMQStream is securemq.eventloop.zmqstream.ZMQStream,
        "monitor": zmq.utils.monitor.__name__,
        "socket_class": zmq.sugar.socket.Socket is securemq.Socket,
        "backend_socket": zmq.backend.Socket is securemq.Socket,
        "name": __name__,
        "argv": sys.argv,
        "path0": sys.path[0],
    }))
"""


def test_run_script_aliases_every_zmq_module(tmp_path: Path) -> None:
    script = write(tmp_path / "probe.py", PROBE)
    got = facts(python("-m", "securemq.run", str(script), "a", "--b"))
    assert got == {
        "zmq_is_securemq": True, "asyncio": True, "auth_thread": True, "zmqstream": True,
        "monitor": "securemq.utils.monitor", "socket_class": True, "backend_socket": True,
        "name": "__main__", "argv": [str(script), "a", "--b"], "path0": str(tmp_path),
    }


def test_run_module_and_command(tmp_path: Path) -> None:
    write(tmp_path / "probe_mod.py", PROBE)
    got = facts(python("-m", "securemq.run", "-m", "probe_mod", "x", cwd=tmp_path))
    assert got["zmq_is_securemq"] and got["name"] == "__main__"
    assert got["argv"] == [str(tmp_path / "probe_mod.py"), "x"]
    out = python("-m", "securemq.run", "-c",
                 "import json, sys, zmq; print(json.dumps([zmq.__name__, sys.argv]))", "y")
    assert facts(out) == ["securemq", ["-c", "y"]]


def test_a_pyzmq_program_runs_unmodified(tmp_path: Path) -> None:
    """REQ/REP over TCP, asyncio PUSH/PULL, a ZMQStream echo and the auth module, written for
    pyzmq."""
    script = write(tmp_path / "app.py", """
        import asyncio, json
        import zmq, zmq.asyncio
        from zmq.auth.thread import ThreadAuthenticator

        ctx = zmq.Context()
        rep = ctx.socket(zmq.REP)
        port = rep.bind_to_random_port("tcp://127.0.0.1")
        req = ctx.socket(zmq.REQ)
        req.connect(f"tcp://127.0.0.1:{port}")
        req.setsockopt(zmq.RCVTIMEO, 5000)
        rep.setsockopt(zmq.RCVTIMEO, 5000)
        req.send_json({"q": 1})
        rep.send_json({"a": rep.recv_json()["q"] + 1})
        answer = req.recv_json()

        async def pipeline():
            actx = zmq.asyncio.Context()
            pull = actx.socket(zmq.PULL)
            p = pull.bind_to_random_port("tcp://127.0.0.1")
            push = actx.socket(zmq.PUSH)
            push.connect(f"tcp://127.0.0.1:{p}")
            await push.send_multipart([b"a", b"b"])
            msg = await asyncio.wait_for(pull.recv_multipart(), 5)
            actx.destroy(linger=0)
            return msg

        msg = asyncio.run(pipeline())

        from tornado.ioloop import IOLoop
        from zmq.eventloop.zmqstream import ZMQStream

        async def stream_echo():
            router = ctx.socket(zmq.ROUTER)
            p = router.bind_to_random_port("tcp://127.0.0.1")
            dealer = ctx.socket(zmq.DEALER)
            dealer.connect(f"tcp://127.0.0.1:{p}")
            server, client = ZMQStream(router), ZMQStream(dealer)
            server.on_recv_stream(lambda s, m: s.send_multipart(m))
            done = asyncio.get_running_loop().create_future()
            client.on_recv(done.set_result)
            client.send(b"echo")
            reply = await asyncio.wait_for(done, 5)
            server.close(linger=0)
            client.close(linger=0)
            return reply

        echoed = IOLoop.current().run_sync(stream_echo, timeout=10)
        auth = ThreadAuthenticator(ctx)
        auth.start()
        auth.stop()
        ctx.destroy(linger=0)
        print(json.dumps({"answer": answer, "msg": [m.decode() for m in msg],
                          "echoed": [m.decode() for m in echoed],
                          "auth": type(auth).__module__}))
    """)
    got = facts(python("-m", "securemq.run", str(script)))
    assert got == {"answer": {"a": 2}, "msg": ["a", "b"], "echoed": ["echo"],
                   "auth": "securemq.auth.thread"}


def test_child_processes_inherit_the_alias(tmp_path: Path) -> None:
    """As Jupyter starts its kernel: ``sys.executable -m some_launcher`` from the program."""
    write(tmp_path / "kernel_launcher.py", """
        import json, zmq
        print(json.dumps(zmq.__name__))
    """)
    script = write(tmp_path / "parent.py", f"""
        import json, subprocess, sys
        child = subprocess.run([sys.executable, "-m", "kernel_launcher"], cwd={str(tmp_path)!r},
                               capture_output=True, text=True, timeout=20, check=True)
        plain = subprocess.run([sys.executable, "-c", "import zmq; print(zmq.__name__)"],
                               capture_output=True, text=True, timeout=20, check=True)
        print(json.dumps([json.loads(child.stdout), plain.stdout.strip()]))
    """)
    assert facts(python("-m", "securemq.run", str(script))) == ["securemq", "securemq"]


def test_without_the_launcher_zmq_is_pyzmq() -> None:
    code = "import json, zmq; print(json.dumps([zmq.__file__, zmq.pyzmq_version()]))"
    path, version = facts(python("-c", code))
    assert path == pyzmq.__file__ and version == pyzmq.pyzmq_version()


def test_shim_steps_aside_without_the_variable() -> None:
    """A PYTHONPATH left pointing at the shim changes nothing unless the variable is set."""
    code = "import json, zmq, zmq.asyncio; print(json.dumps([zmq.__file__, zmq.asyncio.__file__]))"
    shim_only = clean_env(PYTHONPATH=str(compat.SHIM_DIR))
    zmq_file, asyncio_file = facts(python("-c", code, env=shim_only))
    assert zmq_file == pyzmq.__file__
    assert Path(asyncio_file).parent == Path(pyzmq.__file__).parent
    for off in ("", "0"):
        env = clean_env(PYTHONPATH=str(compat.SHIM_DIR), **{compat.ENV_VAR: off})
        assert facts(python("-c", code, env=env))[0] == pyzmq.__file__
    on = clean_env(PYTHONPATH=str(compat.SHIM_DIR), **{compat.ENV_VAR: "1"})
    assert facts(python("-c", code, env=on)) == [securemq.__file__,
                                                 securemq.asyncio.__file__]


def test_missing_submodule_is_an_import_error() -> None:
    code = textwrap.dedent("""
        import json
        try:
            import zmq.green
        except ImportError as exc:
            print(json.dumps([type(exc).__name__, exc.name, "docs/PYZMQ_COMPAT.md" in str(exc)]))
    """)
    assert facts(python("-m", "securemq.run", "-c", code)) == [
        "ModuleNotFoundError", "zmq.green", True]


def test_python_dash_m_of_an_aliased_module() -> None:
    got = json.loads(python("-m", "securemq.run", "-m", "zmq.curve_keygen", "--json").stdout)
    assert securemq.curve_public(got["secret"].encode()).decode() == got["public"]
    usage = python("-m", "securemq.run", "-m", "zmq.log", "--help")
    assert "ZMQ Log Watcher" in usage.stdout


def test_in_process_install_and_uninstall() -> None:
    code = textwrap.dedent("""
        import json, sys
        import securemq.compat as compat
        compat.install()
        compat.install()  # idempotent
        import zmq, zmq.asyncio
        import securemq
        first = [zmq is securemq, zmq.asyncio is securemq.asyncio, compat.installed()]
        compat.uninstall()
        import zmq
        print(json.dumps(first + [compat.installed(), zmq.__name__, "securemq" in zmq.__file__,
                                  sys.modules["securemq.asyncio"] is securemq.asyncio]))
    """)
    assert facts(python("-c", code)) == [True, True, True, False, "zmq", False, True]


def test_install_refuses_when_pyzmq_is_already_imported() -> None:
    assert sys.modules["zmq"] is pyzmq
    with pytest.raises(RuntimeError, match="already imported"):
        compat.install()
    assert not compat.installed()
    assert sys.modules["zmq"] is pyzmq


def test_propagate_edits_the_given_environment() -> None:
    env = {"PYTHONPATH": os.pathsep.join(["/a", str(compat.SHIM_DIR), "/b"])}
    compat.propagate_to_subprocesses(env)
    assert env[compat.ENV_VAR] == "1"
    assert env["PYTHONPATH"].split(os.pathsep) == [str(compat.SHIM_DIR), "/a", "/b"]
    empty: dict[str, str] = {}
    compat.propagate_to_subprocesses(empty)
    assert empty["PYTHONPATH"] == str(compat.SHIM_DIR)


def test_exit_status_and_usage(tmp_path: Path) -> None:
    script = write(tmp_path / "exits.py", "import sys, zmq; sys.exit(3)\n")
    assert python("-m", "securemq.run", str(script), check=False).returncode == 3
    no_args = python("-m", "securemq.run", check=False)
    assert no_args.returncode == 2 and "usage:" in no_args.stderr
    assert python("-m", "securemq.run", "-m", check=False).returncode == 2
    assert "usage" in python("-m", "securemq.run", "--help").stdout.lower()
