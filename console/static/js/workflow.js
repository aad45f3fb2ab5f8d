// One workflow: its graph, a run form built from its `input` node, its runs (live while
// they run, via `executionUpdated`) and its saved versions.

import { describeUserError, UserErrors } from "./api.js";
import { diagram } from "./diagram.js";
import { formatDuration, formatTime, h, replace, shortId, show } from "./dom.js";

const GRAPH = `
  nodes { id type rawType label config }
  edges { id source target sourceHandle }`;

const WORKFLOW = `query ConsoleWorkflow($id: ID!) {
  workflow(id: $id) {
    id name description version status updatedAt
    ${GRAPH}
    versions(first: 20) { totalCount nodes { version comment createdAt } }
    executions(first: 10) {
      totalCount
      nodes { id status progress createdAt executionTime }
    }
  }
}`;

const VERSION = `query ConsoleWorkflowVersion($id: ID!, $number: Int!) {
  workflow(id: $id) { id savedVersion(number: $number) { version comment createdAt ${GRAPH} } }
}`;

const EXECUTE = `mutation ConsoleExecute($input: ExecuteWorkflowInput!) {
  executeWorkflow(input: $input) {
    execution { id }
    userErrors { field code message }
  }
}`;

const UPDATED = `subscription ConsoleRunUpdated($id: ID!) {
  executionUpdated(id: $id) { id status progress executionTime }
}`;

const LIVE = new Set(["PENDING", "RUNNING"]);

/** The input node's declared fields: [{name, type, required, default}]. */
export function inputFields(nodes) {
  const input = nodes.find((n) => String(n.type).toUpperCase() === "INPUT");
  const fields = input?.config?.fields;
  return Array.isArray(fields) ? fields.filter((f) => f && typeof f.name === "string") : null;
}

function fieldControl(field, index) {
  const id = `input-field-${index}`;
  const kind = field.type || "string";
  const required = Boolean(field.required) && !("default" in field);
  let control;
  if (kind === "boolean") {
    control = h("input", { id, type: "checkbox", "data-field": field.name, "data-kind": kind });
    control.checked = Boolean(field.default);
  } else if (kind === "object" || kind === "array") {
    control = h("textarea", {
      id,
      rows: 3,
      "data-field": field.name,
      "data-kind": kind,
      required,
      spellcheck: "false",
    });
    control.value = "default" in field ? JSON.stringify(field.default, null, 2) : "";
  } else {
    control = h("input", {
      id,
      type: kind === "number" || kind === "integer" ? "number" : "text",
      step: kind === "integer" ? "1" : kind === "number" ? "any" : null,
      "data-field": field.name,
      "data-kind": kind,
      required,
    });
    if ("default" in field) control.value = String(field.default);
  }
  const note = [kind, required ? "required" : null].filter(Boolean).join(", ");
  return h(
    "div",
    { class: kind === "boolean" ? "field check" : "field" },
    h("label", { for: id }, field.name, " ", h("span", { class: "muted small" }, `(${note})`)),
    control,
  );
}

/** The run input from the generated form, or an Error naming the field at fault. */
function readForm(form) {
  const input = {};
  for (const control of form.querySelectorAll("[data-field]")) {
    const name = control.dataset.field;
    const kind = control.dataset.kind;
    if (kind === "boolean") {
      input[name] = control.checked;
      continue;
    }
    const raw = control.value;
    if (raw === "") {
      // Absent: the input node applies its default; a required one is asked for here
      // rather than failing the run a moment later.
      if (control.required) throw fieldError(control, `${name}: required`);
      continue;
    }
    if (kind === "integer" || kind === "number") {
      const value = Number(raw);
      if (!Number.isFinite(value) || (kind === "integer" && !Number.isInteger(value))) {
        throw fieldError(control, `${name}: expected ${kind === "integer" ? "an integer" : "a number"}`);
      }
      input[name] = value;
    } else if (kind === "object" || kind === "array") {
      try {
        input[name] = JSON.parse(raw);
      } catch (error) {
        throw fieldError(control, `${name}: not valid JSON (${error.message})`);
      }
    } else input[name] = raw;
  }
  return input;
}

function fieldError(control, message) {
  const error = new Error(message);
  error.control = control;
  return error;
}

export function workflowView(ctx, id) {
  const element = h("section", { class: "workflow", "aria-busy": "true" }, h("p", {}, "Loading…"));
  const stops = [];
  let workflow = null;
  let chart = null;

  async function load() {
    let data;
    try {
      data = await ctx.api.request(WORKFLOW, { id });
    } catch (error) {
      replace(element, h("p", { class: "alert", role: "alert" }, error.message));
      return;
    }
    element.removeAttribute("aria-busy");
    workflow = data.workflow;
    if (!workflow) {
      replace(element, h("h1", {}, "Workflow not found"), h("p", {}, "It does not exist, or it is not yours."));
      return;
    }
    document.title = `${workflow.name} · agentloom console`;
    draw();
  }

  function draw() {
    const graphBox = h("div", { class: "diagram-box", id: "workflow-graph" });
    const graphNote = h("span", {});
    const panel = h("div", { class: "node-panel", id: "node-panel" });

    function showGraph(graph, note) {
      chart = diagram(graph, {
        title: `Graph of ${workflow.name}`,
        onSelect: (nodeId) => {
          chart.select(nodeId);
          const node = graph.nodes.find((n) => n.id === nodeId);
          const info = ctx.nodeTypes.get(String(node.type).toUpperCase());
          replace(
            panel,
            h("h3", {}, `${node.label || node.id}`),
            h("p", { class: "small" }, h("strong", {}, String(node.type).toLowerCase()), " · ", h("code", {}, node.id)),
            info ? h("p", { class: "muted small" }, info.description) : null,
            h("pre", { class: "json" }, show(node.config)),
          );
        },
      });
      replace(graphBox, chart.element);
      graphNote.textContent = note;
      replace(panel, h("p", { class: "muted small" }, "Select a node (click, or Tab and Enter) to see its settings."));
    }

    const runs = runsSection();
    const versions = versionsSection(showGraph);
    replace(
      element,
      h(
        "header",
        { class: "page-head" },
        h("h1", {}, workflow.name),
        h(
          "p",
          { class: "muted" },
          `version ${workflow.version} · ${workflow.status.toLowerCase()} · updated ${formatTime(workflow.updatedAt)}`,
        ),
        workflow.description ? h("p", {}, workflow.description) : null,
      ),
      h("section", { class: "graph-card", "aria-labelledby": "graph-title" }, h("h2", { id: "graph-title" }, "Graph ", h("span", { class: "muted small", id: "graph-version" }, graphNote)), graphBox),
      h(
        "div",
        { class: "columns" },
        runForm(),
        h("section", { class: "card side-card", "aria-label": "Selected node" }, panel),
        h("div", { class: "stack" }, runs, versions),
      ),
    );
    showGraph(workflow, `Version ${workflow.version} (current).`);
  }

  function runForm() {
    const fields = inputFields(workflow.nodes);
    const alert = h("p", { class: "alert", role: "alert", id: "run-error" });
    const raw = h("textarea", { id: "run-json", rows: 6, spellcheck: "false", "aria-describedby": "run-json-help" });
    raw.value = fields ? "{}" : "{\n  \n}";
    const formFields = fields ? h("div", { id: "run-fields" }, fields.map(fieldControl)) : null;
    const jsonBox = h(
      "div",
      { class: "field", id: "run-json-box", hidden: Boolean(fields) },
      h("label", { for: "run-json" }, "Run input (JSON object)"),
      raw,
      h("p", { class: "muted small", id: "run-json-help" }, "Templates read it as {input} and {input.<key>}."),
    );
    let mode = fields ? "form" : "json";
    const modes = fields
      ? h(
          "fieldset",
          { class: "modes" },
          h("legend", { class: "small" }, "Input as"),
          ["form", "json"].map((value) => {
            const radio = h("input", { type: "radio", name: "run-mode", id: `run-mode-${value}`, value, checked: value === mode });
            radio.addEventListener("change", () => {
              if (mode === "form" && value === "json") {
                try {
                  raw.value = JSON.stringify(readForm(form), null, 2);
                } catch {
                  // keep what the JSON box had
                }
              }
              mode = value;
              formFields.hidden = mode !== "form";
              jsonBox.hidden = mode !== "json";
            });
            return h("label", { for: `run-mode-${value}`, class: "inline" }, radio, value === "form" ? " Form" : " JSON");
          }),
        )
      : null;
    const button = h("button", { type: "submit", class: "primary", id: "run-start" }, "▶ Run");
    const form = h(
      "form",
      { id: "run-form", novalidate: true },
      modes,
      formFields,
      jsonBox,
      alert,
      button,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      alert.textContent = "";
      for (const bad of form.querySelectorAll("[aria-invalid]")) bad.removeAttribute("aria-invalid");
      let input;
      try {
        if (mode === "form") input = readForm(form);
        else {
          try {
            input = JSON.parse(raw.value || "{}");
          } catch (error) {
            throw fieldError(raw, `Run input: not valid JSON (${error.message})`);
          }
          if (!input || typeof input !== "object" || Array.isArray(input)) {
            throw fieldError(raw, "Run input: must be a JSON object");
          }
        }
      } catch (error) {
        alert.textContent = error.message;
        error.control?.setAttribute("aria-invalid", "true");
        error.control?.focus();
        return;
      }
      button.disabled = true;
      try {
        const payload = await ctx.api.mutate(EXECUTE, { workflowId: workflow.id, inputData: input }, "executeWorkflow");
        ctx.navigate(`#/runs/${payload.execution.id}`);
      } catch (error) {
        alert.textContent = error instanceof UserErrors ? error.userErrors.map(describeUserError).join("; ") : error.message;
        button.disabled = false;
      }
    });
    return h("section", { class: "card", "aria-labelledby": "run-title" }, h("h2", { id: "run-title" }, "Run"), form);
  }

  function runsSection() {
    const list = workflow.executions;
    const rows = list.nodes.map((run) => {
      const status = h("span", { class: `badge status-${run.status.toLowerCase()}`, "data-status": run.status.toLowerCase() }, run.status.toLowerCase());
      const time = h("span", { class: "muted small" }, run.executionTime != null ? formatDuration(run.executionTime) : `${run.progress}%`);
      if (LIVE.has(run.status)) {
        stops.push(
          ctx.socket.subscribe({
            query: UPDATED,
            variables: () => ({ id: run.id }),
            next: (data) => {
              const now = data.executionUpdated;
              status.textContent = now.status.toLowerCase();
              status.className = `badge status-${now.status.toLowerCase()}`;
              status.dataset.status = now.status.toLowerCase();
              time.textContent = now.executionTime != null ? formatDuration(now.executionTime) : `${now.progress}%`;
            },
          }),
        );
      }
      return h(
        "li",
        {},
        h("a", { href: `#/runs/${run.id}`, "data-execution-id": run.id }, h("code", {}, shortId(run.id))),
        " ",
        status,
        " ",
        time,
        h("span", { class: "muted small block" }, formatTime(run.createdAt)),
      );
    });
    return h(
      "section",
      { class: "card", "aria-labelledby": "runs-title" },
      h("h2", { id: "runs-title" }, "Runs ", h("span", { class: "muted small" }, `(${list.totalCount})`)),
      rows.length ? h("ul", { class: "plain runs", id: "workflow-runs" }, rows) : h("p", { class: "muted" }, "Not run yet."),
    );
  }

  function versionsSection(showGraph) {
    const list = workflow.versions;
    const items = list.nodes.map((v) => {
      const button = h("button", { type: "button", class: "link", "data-version": v.version }, `v${v.version}`);
      button.addEventListener("click", async () => {
        if (v.version === workflow.version) {
          showGraph(workflow, `Version ${workflow.version} (current).`);
          return;
        }
        try {
          const data = await ctx.api.request(VERSION, { id: workflow.id, number: v.version });
          const saved = data.workflow?.savedVersion;
          if (saved) showGraph(saved, `Version ${saved.version} of ${workflow.version} (read only).`);
        } catch (error) {
          button.after(h("span", { class: "alert small" }, ` ${error.message}`));
        }
      });
      return h(
        "li",
        {},
        button,
        v.version === workflow.version ? h("span", { class: "muted small" }, " current") : null,
        v.comment ? ` ${v.comment}` : "",
        h("span", { class: "muted small block" }, formatTime(v.createdAt)),
      );
    });
    return h(
      "section",
      { class: "card", "aria-labelledby": "versions-title" },
      h("h2", { id: "versions-title" }, "Versions ", h("span", { class: "muted small" }, `(${list.totalCount})`)),
      h("ul", { class: "plain", id: "workflow-versions" }, items),
    );
  }

  load();
  return {
    element,
    destroy() {
      for (const stop of stops) stop();
    },
  };
}
