"""The workflow runtime: graph model, validation, runner, nodes, providers, tools.

Nothing here imports a database driver or a web framework; the ports it needs
are Protocols in `engine.ports`, implemented by `storage` and wired by the
composition root (`agentloom/runtime.py`, and `agentloom/app.py` for the server).
"""
