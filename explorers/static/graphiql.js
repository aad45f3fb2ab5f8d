// agentloom's GraphiQL: queries and mutations over HTTP, subscriptions over WebSocket
// (graphql-transport-ws), both to the endpoint that served this page. Kept out of the
// HTML so the page has no inline script.
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  // Resolved against this page's address, so TLS (wss:) and a path prefix set by a
  // reverse proxy carry over without the server having to know them.
  var url = new URL(root.dataset.endpoint, window.location.href);
  url.search = "";
  url.hash = "";
  var subscriptionUrl = new URL(url.href);
  subscriptionUrl.protocol = url.protocol === "https:" ? "wss:" : "ws:";

  var config = { url: url.href, subscriptionUrl: subscriptionUrl.href };
  window.agentloomGraphiQL = config;

  // createFetcher is @graphiql/toolkit's createGraphiQLFetcher (graphql-ws is bundled):
  // a subscription opens a WebSocket whose connection_init payload carries the Headers
  // pane, which is where the server reads `Authorization` on a socket.
  var fetcher = GraphiQL.createFetcher(config);

  // Kept free of argument lists so it stays true while the schema evolves.
  var defaultQuery = [
    "# agentloom GraphQL. Sign in with the `login` mutation (see Docs), then put the",
    "# token in the Headers pane below (an acl_ API key works too):",
    "#",
    '#   {"Authorization": "Bearer <accessToken>"}',
    "#",
    "# Subscriptions (executionEvents) run over WebSocket with the same headers.",
    "",
    "query Me {",
    "  me { id username }",
    "}",
    "",
  ].join("\n");

  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      defaultEditorToolsVisibility: "headers",
      isHeadersEditorEnabled: true,
      // Tokens stay out of localStorage unless the user ticks "persist headers".
      shouldPersistHeaders: false,
      inputValueDeprecation: true,
    }),
  );
})();
