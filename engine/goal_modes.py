"""The goal modes (`AGENTLOOM_GOAL_MODE`): which graph a goal runs as.

Apart from `engine.services.goal_flow` so that the settings name them without
importing the LLM clients that the flow mode plans with.
"""

from __future__ import annotations

from typing import Literal

GoalMode = Literal["react", "flow"]
