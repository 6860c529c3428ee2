// Apollo Client (3.x, no React) with automatic persisted queries against a live server.
//
//   node apollo.mjs <graphql url> <email> <password> [nonce]
//
// Logs in (an anonymous mutation), then with the token in the Authorization header runs a
// query (`me` and a `deals` connection) twice and a mutation (`timelineCommentAdd` on the
// first deal), all through createPersistedQueryLink({ sha256 }) + HttpLink with POST; then,
// on a second client with `useGETForHashedQueries: true`, another query twice (GET).
// The nonce goes into every operation name so each document's hash is new to the server:
// the first request of a document is then always a miss.
//
// A fetch wrapper records every request the links send (and the answer), so the output shows
// what went over the wire. Prints one JSON document to stdout:
//   {nonce, email, token, post: {login, query, queryAgain, mutation}, get: {query, queryAgain}}
// where each step is {result, requests: [{method, hashOnly, hasQuery, sha256Hash,
// operationName, authorization, contentType, requirePreflight, status, errorCodes, hasData}]}.
// Exits 1 on any failure (message on stderr), 2 on bad usage.

import { createHash, randomBytes } from 'node:crypto';

// Apollo Client 3 has no package.json "exports" map, so Node's ES module resolver refuses the
// documented bare entry points ('@apollo/client/core' -> ERR_UNSUPPORTED_DIR_IMPORT): import
// the entry points' files (the same modules a bundler picks).
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client/core/index.js';
import { createPersistedQueryLink } from '@apollo/client/link/persisted-queries/index.js';

const REQUEST_TIMEOUT_MS = 10_000;

const [url, email, password, nonceArg] = process.argv.slice(2);
if (!url || !email || !password) {
  console.error('usage: node apollo.mjs <graphql url> <email> <password> [nonce]');
  process.exit(2);
}
const nonce = nonceArg || randomBytes(4).toString('hex');

const sha256 = (text) => createHash('sha256').update(text).digest('hex');

let requests = []; // what the links sent for the step running now

function describeRequest(input, init) {
  const target = new URL(typeof input === 'string' ? input : input.url);
  const headers = new Headers(init.headers);
  let params;
  if (init.method === 'GET') {
    const json = (name) => {
      const raw = target.searchParams.get(name);
      return raw ? JSON.parse(raw) : undefined;
    };
    params = {
      query: target.searchParams.get('query') || undefined,
      operationName: target.searchParams.get('operationName') || undefined,
      extensions: json('extensions'),
    };
  } else {
    params = JSON.parse(init.body);
  }
  const persisted = params.extensions?.persistedQuery;
  return {
    method: init.method,
    hashOnly: Boolean(persisted) && !params.query,
    hasQuery: Boolean(params.query),
    sha256Hash: persisted?.sha256Hash ?? null,
    operationName: params.operationName ?? null,
    authorization: headers.has('authorization'),
    contentType: headers.get('content-type'),
    requirePreflight: headers.get('apollo-require-preflight'),
  };
}

async function recordingFetch(input, init = {}) {
  const record = describeRequest(input, init);
  requests.push(record);
  const response = await fetch(input, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  record.status = response.status;
  try {
    const body = await response.clone().json();
    record.errorCodes = (body.errors || []).map((error) => error.extensions?.code ?? null);
    record.hasData = body.data != null;
  } catch {
    record.errorCodes = null;
    record.hasData = false;
  }
  return response;
}

function client(useGETForHashedQueries) {
  const persisted = createPersistedQueryLink({ sha256, useGETForHashedQueries });
  const http = new HttpLink({ uri: url, fetch: recordingFetch });
  return new ApolloClient({
    link: persisted.concat(http),
    cache: new InMemoryCache(),
    defaultOptions: {
      query: { fetchPolicy: 'network-only', errorPolicy: 'none' },
      mutate: { errorPolicy: 'none' },
    },
  });
}

async function step(run) {
  requests = [];
  const { data } = await run();
  return { result: data, requests };
}

const LOGIN = gql`
  mutation Login_${nonce}($email: String!, $password: String!) {
    login(email: $email, password: $password) {
      accessToken
      user { email }
      errors { code message }
    }
  }
`;
const ME_AND_DEALS = gql`
  query MeAndDeals_${nonce} {
    me { email }
    deals(first: 5) {
      totalCount
      edges { cursor node { id status strategy } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;
const COMMENT = gql`
  mutation CommentAdd_${nonce}($dealId: ID!, $body: String!) {
    timelineCommentAdd(dealId: $dealId, body: $body) {
      entry { id kind message }
      errors { code message }
    }
  }
`;
const DEALS_BY_GET = gql`
  query DealsByGet_${nonce} {
    me { email }
    deals(first: 2) { totalCount edges { node { id } } }
  }
`;

async function main() {
  const post = client(false);
  const output = { nonce, email, token: null, post: {}, get: {} };

  output.post.login = await step(() =>
    post.mutate({ mutation: LOGIN, variables: { email, password } }),
  );
  const token = output.post.login.result.login.accessToken;
  if (!token) throw new Error(`login failed: ${JSON.stringify(output.post.login.result)}`);
  output.token = token;
  const context = { headers: { authorization: `Bearer ${token}` } };

  output.post.query = await step(() => post.query({ query: ME_AND_DEALS, context }));
  output.post.queryAgain = await step(() => post.query({ query: ME_AND_DEALS, context }));
  const deal = output.post.query.result.deals.edges[0]?.node;
  if (!deal) throw new Error('the user has no deal to comment on');
  output.post.mutation = await step(() =>
    post.mutate({
      mutation: COMMENT,
      variables: { dealId: deal.id, body: `apollo comment ${nonce}` },
      context,
    }),
  );

  const get = client(true);
  output.get.query = await step(() => get.query({ query: DEALS_BY_GET, context }));
  output.get.queryAgain = await step(() => get.query({ query: DEALS_BY_GET, context }));

  process.stdout.write(`${JSON.stringify(output)}\n`);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error?.stack || String(error));
    if (error?.networkError?.result) {
      console.error(JSON.stringify(error.networkError.result));
    }
    console.error(JSON.stringify({ requests }));
    process.exit(1);
  },
);
