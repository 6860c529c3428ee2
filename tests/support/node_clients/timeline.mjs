// What graphql_ws.mjs and legacy.mjs share: the subscription document and the event loop.

export const SUBSCRIPTION = `
  subscription Timeline($dealId: ID!, $since: String) {
    timelineUpdated(dealId: $dealId, since: $since) {
      id
      kind
      message
      cursor
      createdAt
      actor { email }
    }
  }
`;

// An error as a sink gets it: an Error, a list of GraphQL errors, or a close event.
function describe(error) {
  if (error instanceof Error) return error.stack;
  if (error && typeof error.code === 'number') return `socket closed: ${error.code} ${error.reason}`;
  return JSON.stringify(error);
}

function fail(message) {
  console.error(message);
  process.exit(1);
}

// Subscribe through `subscribe(sink)` (which returns an unsubscribe function); the first event
// is the readiness marker (printed as `READY ...` at once), then `count` events are collected
// and printed as one JSON document; `close` shuts the client down before exiting.
export function collect({ protocol, count, timeoutSeconds, subscribe, close }) {
  let ready = null;
  const events = [];
  let unsubscribe = () => {};
  const timer = setTimeout(
    () => fail(`timeout after ${timeoutSeconds}s: ready=${JSON.stringify(ready)} events=${JSON.stringify(events)}`),
    timeoutSeconds * 1000,
  );

  const finish = () => {
    clearTimeout(timer);
    process.stdout.write(`${JSON.stringify({ protocol, ready, events })}\n`, () => {
      unsubscribe();
      close();
      process.exit(0);
    });
  };

  unsubscribe = subscribe({
    next: (result) => {
      if (result.errors?.length || !result.data?.timelineUpdated) {
        fail(`error result: ${JSON.stringify(result)}`);
      }
      const entry = result.data.timelineUpdated;
      if (ready === null) {
        ready = entry;
        process.stdout.write(`READY ${JSON.stringify(entry)}\n`);
        if (count === 0) finish();
        return;
      }
      events.push(entry);
      if (events.length === count) finish();
    },
    error: (error) => fail(`subscription error: ${describe(error)}`),
    complete: () => fail(`completed early: ready=${JSON.stringify(ready)} events=${JSON.stringify(events)}`),
  });
}
