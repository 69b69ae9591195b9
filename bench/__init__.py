"""securemq benchmarks, side by side with pyzmq.

Run ``python -m bench.run`` (``--quick``, ``--only NAME``, ``--json PATH``, ``--write-results``).

Modules: ``cases`` (the workload table), ``workers`` (what runs inside each spawned process; the
implementation under test is imported there as ``zmq``), ``runner`` (spawns the processes, relays
endpoints, enforces deadlines, checks counts, takes medians), ``report`` (tables, JSON,
RESULTS.md, machine description), ``run`` (the command line).

Nothing here imports ``securemq`` or ``zmq`` at module level: only the workers and the machine
description do, so every process measures exactly one implementation.
"""
