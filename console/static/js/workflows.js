// The sidebar: the caller's workflows, searchable, a page at a time (a Relay connection:
// `first`/`after` forwards, `last`/`before` backwards).

import { h, replace } from "./dom.js";

const PAGE = 12;
const LIST = `query ConsoleWorkflows($first: Int, $after: String, $last: Int, $before: String,
                                    $search: String) {
  workflows(first: $first, after: $after, last: $last, before: $before, search: $search) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id name status version } }
  }
}`;

export function workflowList(ctx) {
  let page = { first: PAGE };
  let offset = 0;
  let current = null;
  let timer = null;
  let answer = null;
  let asked = 0;

  const search = h("input", {
    id: "workflow-search",
    type: "search",
    placeholder: "Name or description",
    autocomplete: "off",
  });
  const list = h("ul", { id: "workflow-list", class: "wf-list", "aria-live": "polite" });
  const status = h("p", { id: "workflow-count", class: "muted small" });
  const previous = h("button", { type: "button", id: "workflow-prev" }, "‹ Previous");
  const next = h("button", { type: "button", id: "workflow-next" }, "Next ›");
  const element = h(
    "div",
    { class: "sidebar-inner" },
    h("h2", {}, "Workflows"),
    h("label", { for: "workflow-search", class: "small" }, "Search"),
    search,
    list,
    status,
    h("div", { class: "pager" }, previous, next),
  );

  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      page = { first: PAGE };
      offset = 0;
      load();
    }, 250);
  });
  next.addEventListener("click", () => {
    if (!answer?.pageInfo.hasNextPage) return;
    offset += answer.edges.length;
    page = { first: PAGE, after: answer.pageInfo.endCursor };
    load();
  });
  previous.addEventListener("click", () => {
    if (!answer?.pageInfo.hasPreviousPage) return;
    offset = Math.max(0, offset - PAGE);
    page = { last: PAGE, before: answer.pageInfo.startCursor };
    load();
  });

  async function load() {
    const mine = ++asked;
    const text = search.value.trim();
    try {
      const data = await ctx.api.request(LIST, { ...page, search: text || null });
      if (mine !== asked) return; // a later search answered first
      answer = data.workflows;
      draw();
    } catch (error) {
      if (mine === asked) replace(list, h("li", { class: "alert" }, error.message));
    }
  }

  function draw() {
    const items = answer.edges.map(({ node }) =>
      h(
        "li",
        {},
        h(
          "a",
          {
            href: `#/workflows/${node.id}`,
            "data-workflow-id": node.id,
            "aria-current": node.id === current ? "page" : null,
          },
          h("span", { class: "wf-name" }, node.name),
          h("span", { class: "wf-meta" }, `v${node.version} · ${node.status.toLowerCase()}`),
        ),
      ),
    );
    if (!items.length) {
      items.push(
        h(
          "li",
          { class: "muted" },
          search.value.trim() ? "No workflow matches." : "No workflows yet.",
        ),
      );
    }
    replace(list, items);
    const total = answer.totalCount;
    const first = total ? offset + 1 : 0;
    status.textContent = `${first}–${offset + answer.edges.length} of ${total}`;
    previous.disabled = !answer.pageInfo.hasPreviousPage;
    next.disabled = !answer.pageInfo.hasNextPage;
  }

  return {
    element,
    load,
    highlight(id) {
      current = id;
      for (const link of list.querySelectorAll("a[data-workflow-id]")) {
        if (link.dataset.workflowId === id) link.setAttribute("aria-current", "page");
        else link.removeAttribute("aria-current");
      }
    },
  };
}
