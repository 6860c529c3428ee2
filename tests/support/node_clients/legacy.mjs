// A `timelineUpdated` subscription through subscriptions-transport-ws (the legacy graphql-ws
// protocol), with the same arguments and output as graphql_ws.mjs:
//
//   node legacy.mjs <ws url> <access token> <deal id> <since cursor> <count> [timeout s]

import WebSocket from 'ws';
import subscriptionsTransportWs from 'subscriptions-transport-ws';

import { SUBSCRIPTION, collect } from './timeline.mjs';

const { SubscriptionClient } = subscriptionsTransportWs;

const [url, token, dealId, since, countArg, timeoutArg] = process.argv.slice(2);
const count = Number(countArg);
if (!url || !token || !dealId || !since || !Number.isInteger(count) || count < 0) {
  console.error('usage: node legacy.mjs <ws url> <token> <deal id> <since cursor> <count> [timeout s]');
  process.exit(2);
}

const client = new SubscriptionClient(
  url,
  {
    reconnect: false,
    connectionParams: { authorization: `Bearer ${token}` },
    connectionCallback: (error) => {
      if (error) {
        console.error(`connection refused: ${JSON.stringify(error)}`);
        process.exit(1);
      }
    },
  },
  WebSocket,
  'graphql-ws',
);
let closing = false;
client.onDisconnected(() => {
  if (closing) return;
  console.error('disconnected by the server');
  process.exit(1);
});

collect({
  protocol: 'graphql-ws',
  count,
  timeoutSeconds: Number(timeoutArg || 15),
  subscribe: (sink) => {
    const subscription = client
      .request({ query: SUBSCRIPTION, variables: { dealId, since } })
      .subscribe(sink);
    return () => subscription.unsubscribe();
  },
  close: () => {
    closing = true;
    client.close();
  },
});
