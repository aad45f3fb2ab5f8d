"""Run figures for analytics: aggregates over one owner's executions in a time window.

One `$facet` aggregation (served by the `(owner_id, created_at)` index)
gives the runs by status, tokens and cost by provider and model (from each
execution's `usage.by_model`, see `engine.usage`) and the most-run
workflows; the durations of finished runs come from a second, projected read
because percentiles are computed exactly, in Python (`$percentile` needs
MongoDB 7 and is approximate). At most `MAX_DURATIONS` durations are read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.services.analytics import (
    FINISHED_STATUSES,
    ModelCost,
    RunStats,
    WorkflowRuns,
)
from storage.documents import ExecutionDocument

MAX_DURATIONS = 200_000


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


class MongoRunStats:
    """`RunStatsStore` over the executions collection."""

    async def run_stats(
        self, *, owner_id: str, since: datetime, until: datetime, top: int
    ) -> RunStats:
        collection = ExecutionDocument.get_pymongo_collection()
        match = {"owner_id": owner_id, "created_at": {"$gte": since, "$lt": until}}
        pipeline: list[dict[str, Any]] = [
            {"$match": match},
            {
                "$facet": {
                    "status": [{"$group": {"_id": "$status", "n": {"$sum": 1}}}],
                    "models": [
                        {"$unwind": "$usage.by_model"},
                        {
                            "$group": {
                                "_id": {
                                    "provider": "$usage.by_model.provider",
                                    "model": "$usage.by_model.model",
                                },
                                "prompt": {"$sum": "$usage.by_model.prompt_tokens"},
                                "completion": {"$sum": "$usage.by_model.completion_tokens"},
                                "total": {"$sum": "$usage.by_model.total_tokens"},
                                "cost": {"$sum": "$usage.by_model.cost"},
                                # $sum skips nulls: count the unpriced entries apart.
                                "unpriced": {
                                    "$sum": {
                                        "$cond": [{"$eq": ["$usage.by_model.cost", None]}, 1, 0]
                                    }
                                },
                                "runs": {"$sum": 1},
                            }
                        },
                    ],
                    "workflows": [
                        {
                            "$group": {
                                "_id": "$workflow_id",
                                "name": {"$last": "$workflow_name"},
                                "runs": {"$sum": 1},
                                "failed": {
                                    "$sum": {"$cond": [{"$eq": ["$status", "failed"]}, 1, 0]}
                                },
                                "tokens": {"$sum": "$usage.total_tokens"},
                                "cost": {"$sum": "$usage.cost"},
                            }
                        },
                        {"$sort": {"runs": -1, "_id": 1}},
                        {"$limit": top},
                    ],
                }
            },
        ]
        cursor = await collection.aggregate(pipeline)
        facets = (await cursor.to_list(length=1) or [{}])[0]
        durations = collection.find(
            {**match, "status": {"$in": list(FINISHED_STATUSES)}, "execution_time": {"$ne": None}},
            {"_id": 0, "execution_time": 1},
        ).limit(MAX_DURATIONS)
        return RunStats(
            by_status={str(row["_id"]): int(row["n"]) for row in facets.get("status", [])},
            models=sorted(
                (
                    ModelCost(
                        provider=str(row["_id"].get("provider") or "unknown"),
                        model=str(row["_id"].get("model") or "unknown"),
                        prompt_tokens=int(_number(row["prompt"])),
                        completion_tokens=int(_number(row["completion"])),
                        total_tokens=int(_number(row["total"])),
                        cost=round(_number(row["cost"]), 10),
                        priced=not row["unpriced"],
                        runs=int(row["runs"]),
                    )
                    for row in facets.get("models", [])
                ),
                key=lambda m: (-m.total_tokens, m.provider, m.model),
            ),
            top_workflows=[
                WorkflowRuns(
                    workflow_id=row["_id"],
                    workflow_name=str(row.get("name") or ""),
                    runs=int(row["runs"]),
                    failed=int(row["failed"]),
                    total_tokens=int(_number(row["tokens"])),
                    cost=round(_number(row["cost"]), 10),
                )
                for row in facets.get("workflows", [])
            ],
            durations_ms=[int(raw["execution_time"]) async for raw in durations],
        )
