"""The engine: the only package that imports pyo.

Upstream code hands it sample-timed ``Note``s (``jamd.engine.notes``) and patches by name
(``jamd.engine.patches``) through one interface (``jamd.engine.interface``); it plays them
through the DSP graph, live (``jamd.engine.live``, or in a process of its own:
``jamd.engine.process``) or offline (``jamd.engine.offline``). The package itself imports
nothing, so starting the engine's process (``EngineProcess.spawn``) costs the daemon no pyo,
numpy or pydantic: it is the first thing ``jamd run`` does.
"""
