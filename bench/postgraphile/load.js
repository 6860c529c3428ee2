// The load generator of `python -m bench`: one autocannon run, its summary printed as JSON.
//
// Usage: node load.js CONFIG.json
// CONFIG: { url, body (the POST body, a string), headers, connections, duration (s),
//           timeout (s), expectBody (optional: the exact body every response must have) }
// Every connection is an HTTP/1.1 keep-alive connection that sends the next request as soon as
// the previous answer arrived (closed loop, no pipelining). A response whose body differs from
// expectBody counts as a mismatch.
"use strict";

const fs = require("fs");
const autocannon = require("autocannon");

async function main() {
  const config = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  const options = {
    url: config.url,
    method: "POST",
    body: config.body,
    headers: { "content-type": "application/json", ...(config.headers || {}) },
    connections: config.connections,
    duration: config.duration,
    timeout: config.timeout || 60,
    pipelining: 1,
  };
  if (config.expectBody !== undefined) options.expectBody = config.expectBody;
  const result = await autocannon(options);
  const latency = result.latency;
  const summary = {
    requests: result.requests.total,
    duration: result.duration,
    rps: result.requests.total / result.duration,
    latencyMs: {
      mean: latency.average,
      p50: latency.p50,
      p90: latency.p90,
      p99: latency.p99,
      max: latency.max,
    },
    bytes: result.throughput.total,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    mismatches: result.mismatches,
    statusCodes: result.statusCodeStats,
  };
  process.stdout.write(JSON.stringify(summary) + "\n");
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
