// The graphql-http GraphQL-over-HTTP server audits against a running server.
//
//   node audit.mjs http://127.0.0.1:8000/graphql
//
// Runs every audit of `serverAudits` (graphql-http) one after the other and prints one JSON
// document to stdout: a list, in the package's order, of
//   {id, name, status, reason, request, response}
// `status` is the package's: "ok", or for a failed audit "error" (MUST), "warn" (SHOULD) or
// "notice" (MAY); "fatal" is ours, for an audit that threw instead of failing (the request
// itself failed: connection refused, timeout...). `reason` is null when ok. `request`
// (method, path and query, content-type, accept, body) and `response` (status, content-type,
// body) are what went over the wire (each audit sends one request; bodies are cut short).
// Exits 0 whenever it printed the list (failed audits included), 2 on bad usage.

import { serverAudits } from 'graphql-http';

const REQUEST_TIMEOUT_MS = 10_000;
const BODY_EXCERPT_CHARS = 500;

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs <graphql url>');
  process.exit(2);
}

let exchanges = []; // the requests of the audit running now, with their responses

// CSRF (Apollo's rule): the server refuses a request a browser could send cross-site without
// a CORS preflight, i.e. one with no content type or a "simple" one (every GET; a POST of
// text/plain, form-urlencoded or multipart) and no non-simple header such as Authorization.
// The audits are anonymous GETs among others, so every request here sends
// `apollo-require-preflight: true`; a browser client must do the same (sending it on every
// request is simplest). The audits' own headers are kept, and the request is otherwise
// exactly the one the audit built.
async function fetchFn(input, init = {}) {
  const headers = new Headers(init.headers);
  headers.set('apollo-require-preflight', 'true');
  const request = new Request(input, {
    ...init,
    headers,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const exchange = { request: await describeRequest(request.clone()), response: null };
  exchanges.push(exchange);
  const response = await fetch(request);
  exchange.response = await describeResponse(response.clone());
  return response;
}

function excerpt(text) {
  return text.length > BODY_EXCERPT_CHARS ? `${text.slice(0, BODY_EXCERPT_CHARS)}...` : text;
}

async function describeRequest(request) {
  const { pathname, search } = new URL(request.url);
  const body = request.body === null ? null : excerpt(await request.text());
  return {
    method: request.method,
    target: `${pathname}${search}`,
    contentType: request.headers.get('content-type'),
    accept: request.headers.get('accept'),
    body,
  };
}

async function describeResponse(response) {
  let body;
  try {
    body = excerpt(await response.text());
  } catch (err) {
    body = `(body unreadable: ${err})`;
  }
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    body,
  };
}

const results = [];
for (const { id, name, fn } of serverAudits({ url, fetchFn })) {
  exchanges = [];
  let status;
  let reason = null;
  try {
    const result = await fn();
    status = result.status;
    if (status !== 'ok') reason = result.reason;
  } catch (err) {
    status = 'fatal';
    reason = String(err?.cause ? `${err} (${err.cause})` : err);
  }
  const last = exchanges.at(-1);
  results.push({
    id,
    name,
    status,
    reason,
    request: last?.request ?? null,
    response: last?.response ?? null,
  });
}
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
