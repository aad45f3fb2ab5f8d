// Subscribes to executionEvents with the real `graphql-ws` client and prints each event as a JSON line.
// argv: url token executionId afterSeq [stopAfter]
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, token, executionId, afterSeq, stopAfter] = process.argv.slice(2);
const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: `Bearer ${token}` },
  retryAttempts: 0,
});
const query = `subscription($id: ID!, $after: Int!) {
  executionEvents(executionId: $id, afterSeq: $after) { executionId seq type nodeId timestamp data }
}`;
let count = 0;
const limit = stopAfter ? Number(stopAfter) : Infinity;
try {
  const iterator = client.iterate({ query, variables: { id: executionId, after: Number(afterSeq) } });
  for await (const result of iterator) {
    if (result.errors) {
      console.log(JSON.stringify({ error: result.errors[0] }));
      break;
    }
    console.log(JSON.stringify(result.data.executionEvents));
    count += 1;
    if (count >= limit) break;
  }
} catch (err) {
  console.log(JSON.stringify({ error: { message: String(err?.reason ?? err?.message ?? err), code: err?.code } }));
}
await client.dispose();
