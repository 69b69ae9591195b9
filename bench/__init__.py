"""securemq benchmarks, side by side with pyzmq.

Run ``python -m bench.run`` (``--quick``, ``--scale``, ``--only NAME``, ``--json PATH``,
``--plot PNG``, ``--write-results``).

Modules: ``cases`` (the workload table), ``workers`` (what runs inside each spawned process; the
implementation under test is imported there as ``zmq``), ``runner`` (spawns the processes, relays
endpoints, enforces deadlines, checks counts, takes medians), ``scale`` and ``scale_workers``
(the same two halves for the scale workloads: a ROUTER with N DEALERs, a PUB with N SUBs,
connection storms; ``--scale``), ``report`` (tables, JSON, RESULTS.md, machine description),
``plot`` (optional matplotlib charts, also ``python -m bench.plot RESULTS.json OUT.png``), ``run``
(the command line).

Nothing here imports ``securemq`` or ``zmq`` at module level: only the workers and the machine
description do, so every process measures exactly one implementation.
"""
