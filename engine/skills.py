"""Skills: named instructions plus the tools they need, given to an agent.

The built-in ones are data; users add their own (stored outside the engine).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(kw_only=True)
class Skill:
    id: str
    name: str
    description: str = ""
    instructions: str = ""
    category: str = ""
    icon: str = ""
    tools: list[str] = field(default_factory=list)
    """Tool ids from the catalog."""
    builtin: bool = False
    owner_id: str | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "instructions": self.instructions,
            "category": self.category,
            "icon": self.icon,
            "tools": list(self.tools),
            "isBuiltin": self.builtin,
        }


BUILTIN_SKILLS: dict[str, Skill] = {
    s.id: s
    for s in (
        Skill(
            id="math_tutor",
            name="Math Tutor",
            description="Works problems step by step and checks arithmetic with the calculator.",
            instructions="Solve math problems step by step. Use the calculator tool for every "
            "arithmetic evaluation and state the final answer clearly.",
            category="Education",
            icon="calculator",
            tools=["calculator"],
            builtin=True,
        ),
        Skill(
            id="researcher",
            name="Researcher",
            description="Searches the web and reads pages before answering, citing sources.",
            instructions="Research the question with web_search, read the most relevant pages "
            "with url_fetch, and answer citing the URLs you used.",
            category="Research",
            icon="search",
            tools=["web_search", "url_fetch"],
            builtin=True,
        ),
        Skill(
            id="data_wrangler",
            name="Data Wrangler",
            description="Parses and reshapes JSON data.",
            instructions="When given data, parse it with json_parser and answer from the "
            "parsed structure, never by guessing.",
            category="Data",
            icon="braces",
            tools=["json_parser"],
            builtin=True,
        ),
        Skill(
            id="time_keeper",
            name="Time Keeper",
            description="Answers questions about dates and times.",
            instructions="Use the datetime tool to find the current date and time before "
            "answering anything that depends on it.",
            category="Utility",
            icon="clock",
            tools=["datetime"],
            builtin=True,
        ),
    )
}
