import anyio
import pytest

from engine.builtin_templates import get_template
from engine.memory import QueueHumanInputBroker
from tests.engine.helpers import run, services
from tests.support.openai_server import FakeOpenAIServer

pytestmark = pytest.mark.anyio


async def test_loop_template_runs() -> None:
    template = get_template("tpl-loop-over-items")
    assert template is not None
    result, _ = await run(
        template["nodes"], template["edges"], {"items": [{"name": "Ada"}, {"name": "Linus"}]}
    )
    assert result.status == "completed", result.error
    assert result.output == {
        "results": [
            {"name": "Ada", "greeting": "Hello, Ada!"},
            {"name": "Linus", "greeting": "Hello, Linus!"},
        ]
    }


async def test_human_approval_template_runs(openai_server: FakeOpenAIServer) -> None:
    template = get_template("tpl-human-approval")
    assert template is not None
    broker = QueueHumanInputBroker()
    env = {"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": openai_server.base_url}
    svc = services(environ=env, human_input=broker)
    broker.answer_nowait(execution_id="exec-approval", node_id="human-1", response="Yes")
    from engine.runner import RunRequest, WorkflowRunner

    with anyio.fail_after(10):
        result = await WorkflowRunner(svc).run(
            RunRequest(
                execution_id="exec-approval",
                owner_id="o",
                nodes=template["nodes"],
                edges=template["edges"],
                input_data={"message": "Can we meet?"},
            )
        )
    assert result.status == "completed", result.error
    assert result.output == {
        "reply": "Summary: Draft a short, polite reply to this message:\n\nCan we meet?"
    }
    assert "Approve this draft?" in broker.requests[0][2]
