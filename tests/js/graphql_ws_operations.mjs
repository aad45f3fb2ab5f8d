// Runs GraphQL operations with the real `graphql-ws` client over one WebSocket, all at once,
// and prints every result as a JSON line: {"label", "data"} or {"label", "errors"}, then
// {"label", "complete": true} when the operation ends (a subscription after its last event).
// argv: url token; stdin: a JSON list of {label, query, variables}.
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, token] = process.argv.slice(2);
let input = "";
for await (const chunk of process.stdin) input += chunk;
const operations = JSON.parse(input);

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: token ? { Authorization: `Bearer ${token}` } : {},
  retryAttempts: 0,
});
const print = (line) => process.stdout.write(JSON.stringify(line) + "\n");

async function run({ label, query, variables }) {
  try {
    for await (const result of client.iterate({ query, variables: variables ?? {} })) {
      if (result.errors) print({ label, errors: result.errors });
      else print({ label, data: result.data });
    }
  } catch (err) {
    // A close or a refused operation: what the server said, for the test to check.
    const errors = Array.isArray(err) ? err : [{ message: String(err?.reason ?? err?.message ?? err) }];
    print({ label, errors });
  }
  print({ label, complete: true });
}

await Promise.all(operations.map(run));
await client.dispose();
