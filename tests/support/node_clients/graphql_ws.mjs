// A `timelineUpdated` subscription through graphql-ws (the graphql-transport-ws protocol).
//
//   node graphql_ws.mjs <ws url> <access token> <deal id> <since cursor> <count> [timeout s]
//
// Subscribes with `since`: the server replays the timeline entries after that cursor, so the
// caller posts one entry after it before starting this script; receiving that replayed entry
// proves the subscription is live on the server. This prints `READY <entry as JSON>` as soon
// as it arrives (one line, flushed), then waits for <count> more events and prints one JSON
// document: {protocol, ready, events}, each event the `timelineUpdated` entry as received.
// Exits 1 on any error, an error result, a close, or a timeout (message on stderr), 2 on bad
// usage.

import WebSocket from 'ws';
import { createClient } from 'graphql-ws';

import { SUBSCRIPTION, collect } from './timeline.mjs';

const [url, token, dealId, since, countArg, timeoutArg] = process.argv.slice(2);
const count = Number(countArg);
if (!url || !token || !dealId || !since || !Number.isInteger(count) || count < 0) {
  console.error('usage: node graphql_ws.mjs <ws url> <token> <deal id> <since cursor> <count> [timeout s]');
  process.exit(2);
}

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${token}` },
  retryAttempts: 0,
  shouldRetry: () => false,
});

collect({
  protocol: 'graphql-transport-ws',
  count,
  timeoutSeconds: Number(timeoutArg || 15),
  subscribe: (sink) =>
    client.subscribe({ query: SUBSCRIPTION, variables: { dealId, since } }, sink),
  close: () => client.dispose(),
});
