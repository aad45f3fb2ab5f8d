"""Small workflows the seed fidelity tests share."""

from __future__ import annotations

import json

from tests.agui.helpers import chain, node


def echo_workflow() -> str:
    """start -> output (`You said {input.input}`) -> end: a run that needs no LLM."""
    nodes = [
        node("start", "start"),
        node("out", "output", key="echo", value="You said {input.input}"),
        node("end", "end"),
    ]
    return json.dumps({"nodes": nodes, "edges": chain(*nodes)})
