'use strict';

// A fake S3 for tests/integration/test_storage.py: `node server.js PORT [BUCKET]`.
// Listens on 127.0.0.1:PORT with one bucket in a fresh temp directory, prints "ready" once
// listening, and exits (removing the directory) on SIGTERM, SIGINT or when stdin closes, so
// it cannot outlive the test run that started it. Credentials: S3RVER / S3RVER.
//
// @20minutes/s3rver is the maintained fork of s3rver; unlike s3rver 3.7.1 (the last npm
// release, which only checks that a SigV4 URL has not expired) it verifies SigV4 signatures,
// header and presigned query-string alike, and refuses mismatches with 403.

const fs = require('fs');
const os = require('os');
const path = require('path');
const S3rver = require('@20minutes/s3rver');

const port = Number(process.argv[2]);
const bucket = process.argv[3] || 'reos-test';
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node server.js PORT [BUCKET]');
  process.exit(2);
}

const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'reos-s3rver-'));
const server = new S3rver({
  address: '127.0.0.1',
  port,
  silent: true,
  directory,
  configureBuckets: [{ name: bucket }],
});

let stopping = false;
function stop(code) {
  if (stopping) return;
  stopping = true;
  const done = () => {
    fs.rmSync(directory, { recursive: true, force: true });
    process.exit(code);
  };
  setTimeout(done, 2000).unref();
  if (server.httpServer) {
    server.httpServer.closeAllConnections();
    server.close(done);
  } else {
    done();
  }
}

process.on('SIGTERM', () => stop(0));
process.on('SIGINT', () => stop(0));
process.stdin.on('end', () => stop(0));
process.stdin.on('error', () => stop(0));
process.stdin.resume();

server.run().then(
  () => console.log('ready'),
  (err) => {
    console.error(err);
    stop(1);
  },
);
