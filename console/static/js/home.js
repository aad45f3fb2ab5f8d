// The start page once signed in: what the console does, and the latest runs (each opens
// in the run view, replayed from its log).

import { formatDuration, formatTime, h, replace, shortId } from "./dom.js";

const RECENT = `query ConsoleRecentRuns {
  executions(first: 15) {
    totalCount
    nodes { id status workflowId workflowName createdAt executionTime progress }
  }
}`;

export function homeView(ctx) {
  const runs = h("div", { id: "recent-runs" }, h("p", { class: "muted" }, "Loading…"));
  const element = h(
    "section",
    { class: "home" },
    h("h1", { tabindex: -1 }, "Runs"),
    h(
      "p",
      { class: "muted" },
      "Pick a workflow on the left to see its graph and run it, or open a recent run.",
    ),
    runs,
  );
  ctx.api
    .request(RECENT)
    .then((data) => {
      const list = data.executions.nodes;
      if (!list.length) {
        replace(runs, h("p", {}, "No runs yet."));
        return;
      }
      replace(
        runs,
        h(
          "table",
          { class: "table" },
          h("caption", { class: "small muted" }, `${list.length} of ${data.executions.totalCount}`),
          h(
            "thead",
            {},
            h("tr", {}, ["Run", "Workflow", "Status", "Took", "Created"].map((t) => h("th", { scope: "col" }, t))),
          ),
          h(
            "tbody",
            {},
            list.map((run) =>
              h(
                "tr",
                {},
                h("td", {}, h("a", { href: `#/runs/${run.id}` }, h("code", {}, shortId(run.id)))),
                h("td", {}, run.workflowName),
                h("td", {}, h("span", { class: `badge status-${run.status.toLowerCase()}` }, run.status.toLowerCase())),
                h("td", {}, run.executionTime != null ? formatDuration(run.executionTime) : `${run.progress}%`),
                h("td", { class: "small" }, formatTime(run.createdAt)),
              ),
            ),
          ),
        ),
      );
    })
    .catch((error) => replace(runs, h("p", { class: "alert", role: "alert" }, error.message)));
  return { element };
}
