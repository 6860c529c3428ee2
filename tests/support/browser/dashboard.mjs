// The /dashboard page in a real Chromium, against a running `reos serve`.
//
//   node dashboard.mjs '<config JSON>'     (tests/e2e/test_dashboard_browser.py builds it)
//
// Config: {baseUrl, chromium, password, users: {admin, analyst, ops}, deal: {id, name},
// project: {id}, awardBidId, liveBid: {contractorName, input: BidInput}, outputDir,
// docsScreenshot (a path, or null to leave docs/ alone)}.
//
// Two browser contexts: A (the admin) opens the page through a TCP proxy of ours, so the
// test can cut A's network for real (every connection dropped, new ones refused) while B
// (an analyst of the same tenant) keeps working on the server directly. Steps:
//   1. A signs in, sees the pipeline, opens the deal: its timeline and the project's bids.
//   2. B opens the same deal and comments: A shows the comment within 1 second.
//   3. A bid arrives (posted through the API as ops): it shows in A's bids live, and A's
//      BID_RECEIVED alert arrives live (unread count up); A marks it read.
//   4. A awards a bid: A shows it AWARDED and the others REJECTED; so does B, live.
//   5. A's network drops: A shows "Reconnecting…"; B comments meanwhile; the network comes
//      back: A reconnects, resubscribes with `since`, and shows that comment exactly once.
//   6. B's clock jumps 14.5 minutes: B refreshes its token (tokenRefresh) before expiry,
//      reconnects with the new one, and its next comment reaches A.
//   7. A logs out.
// Screenshots of every step go to outputDir (their paths are printed). Prints
// `RESULT <json>` (timings) and exits 0 on success; prints the failure and exits 1.

import net from 'node:net';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const config = JSON.parse(process.argv[2] ?? '{}');
const started = Date.now();
const timings = {};
const screenshots = [];
const problems = []; // uncaught page errors and CSP violations

function log(message) {
  console.log(`[${((Date.now() - started) / 1000).toFixed(2)}s] ${message}`);
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** A TCP proxy to the server whose connections can all be cut (and new ones refused). */
async function startProxy(targetUrl) {
  const target = new URL(targetUrl);
  const sockets = new Set();
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(Number(target.port), target.hostname);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', end);
      socket.on('close', end);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    drop() {
      refusing = true;
      for (const socket of sockets) socket.destroy();
    },
    restore() {
      refusing = false;
    },
    close() {
      refusing = true;
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

async function api(query, variables, token) {
  const response = await fetch(`${config.baseUrl}/graphql`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  check(response.ok && !body.errors, `GraphQL failed: ${JSON.stringify(body)}`);
  return body.data;
}

async function tokenFor(email) {
  const data = await api(
    'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken errors { message } } }',
    { e: email, p: config.password },
  );
  check(data.login.accessToken, `login of ${email} failed: ${JSON.stringify(data.login.errors)}`);
  return data.login.accessToken;
}

async function shoot(page, name) {
  const file = path.join(
    config.outputDir,
    `${String(screenshots.length + 1).padStart(2, '0')}-${name}.png`,
  );
  await page.screenshot({ path: file });
  screenshots.push(file);
  console.log(`screenshot: ${file}`);
  return file;
}

function watch(page, who) {
  page.on('pageerror', (error) => problems.push(`${who}: uncaught ${error.message}`));
  page.on('console', (message) => {
    const text = message.text();
    if (/Content.Security.Policy/i.test(text)) problems.push(`${who}: ${text}`);
    if (process.env.DASHBOARD_E2E_VERBOSE)
      console.log(`  ${who} console.${message.type()}: ${text}`);
  });
}

async function signIn(page, baseUrl, email, hash = '') {
  await page.goto(`${baseUrl}/dashboard${hash}`);
  await page.locator('#login-form').waitFor();
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', config.password);
  await page.click('#login-form button[type=submit]');
  await page.locator('.deal-card').first().waitFor();
  await connection(page, 'live', 10_000);
}

function connection(page, status, timeout) {
  return page.locator(`#connection[data-status="${status}"]`).waitFor({ timeout });
}

function entry(page, text) {
  return page.locator('#timeline .entry[data-kind="COMMENT"] .entry-message', { hasText: text });
}

async function comment(page, text) {
  await page.fill('#comment-body', text);
  await page.click('#comment-form button[type=submit]');
}

/** The last subscribe message a socket sent for this subscription field. */
function subscribed(socket, field) {
  return socket.sent.findLast(
    (message) => message.type === 'subscribe' && message.payload.query.includes(`${field}(`),
  );
}

function bidRow(page, id) {
  return page.locator(`#bids-body tr[data-bid-id="${id}"]`);
}

/** How long `action` took, in ms, saved as timings[name]. */
async function timed(name, action) {
  const t0 = performance.now();
  await action();
  timings[name] = Math.round(performance.now() - t0);
  return timings[name];
}

async function main() {
  mkdirSync(config.outputDir, { recursive: true });
  const tag = Math.random().toString(36).slice(2, 8);
  const proxy = await startProxy(config.baseUrl);
  const browser = await chromium.launch({ executablePath: config.chromium, headless: true });
  const viewport = { width: 1440, height: 900 };
  let contextA;
  let contextB;
  let pageA;
  let pageB;
  try {
    contextA = await browser.newContext({ viewport });
    contextB = await browser.newContext({ viewport });
    await contextB.clock.install(); // time flows as usual until step 6 moves it on
    pageA = await contextA.newPage();
    pageB = await contextB.newPage();
    watch(pageA, 'A');
    watch(pageB, 'B');
    const socketsA = []; // every WebSocket A opens, with the messages it sent
    pageA.on('websocket', (ws) => {
      const sent = [];
      ws.on('framesent', (frame) => sent.push(JSON.parse(frame.payload)));
      socketsA.push({ ws, sent });
    });

    // 1. A signs in and opens the deal.
    await pageA.goto(`${proxy.url}/dashboard`);
    await pageA.locator('#login-form').waitFor();
    await shoot(pageA, 'login');
    await timed('signInMs', async () => {
      await pageA.fill('input[name=email]', config.users.admin);
      await pageA.fill('input[name=password]', config.password);
      await pageA.click('#login-form button[type=submit]');
      await pageA.locator('.deal-card').first().waitFor();
      await connection(pageA, 'live', 10_000);
    });
    log(`A signed in as ${config.users.admin} (${timings.signInMs} ms); the socket is live`);
    await shoot(pageA, 'pipeline');
    await timed('openDealMs', async () => {
      await pageA.click(`.deal-card[data-deal-id="${config.deal.id}"]`);
      await pageA.locator('#deal-name', { hasText: config.deal.name }).waitFor();
      await pageA.locator('#timeline .entry').first().waitFor();
      await bidRow(pageA, config.awardBidId).waitFor();
    });
    check(new URL(pageA.url()).hash.startsWith('#deal='), 'the URL remembers the open deal');
    log(`A opened ${config.deal.name}: timeline and bids shown (${timings.openDealMs} ms)`);
    await shoot(pageA, 'deal');

    // 2. B comments; A shows it within a second.
    await signIn(
      pageB,
      config.baseUrl,
      config.users.analyst,
      `#deal=${encodeURIComponent(config.deal.id)}`,
    );
    await pageB.locator('#timeline .entry').first().waitFor();
    await pageA.waitForTimeout(300); // let both subscriptions settle
    // (each run gets a deal of its own, with no rehab project yet, so these texts are new there)
    const liveText = 'Walkthrough moved to Thursday 9am, bring the roof quote';
    await timed('commentToOtherBrowserMs', async () => {
      await comment(pageB, liveText);
      await entry(pageA, liveText).waitFor({ timeout: 1_000 });
    });
    log(`B's comment appeared in A after ${timings.commentToOtherBrowserMs} ms (limit 1000)`);
    await shoot(pageA, 'comment-from-analyst');

    // 3. A new bid arrives live, and so does A's alert about it.
    const unreadBefore = Number((await pageA.locator('#unread').textContent()) || 0);
    const opsToken = await tokenFor(config.users.ops);
    const submitted = await api(
      `mutation($p: ID!, $input: BidInput!) { bidSubmit(projectId: $p, input: $input) {
         bid { id } errors { message } } }`,
      { p: config.project.id, input: config.liveBid.input },
      opsToken,
    );
    check(
      submitted.bidSubmit.bid,
      `bidSubmit failed: ${JSON.stringify(submitted.bidSubmit.errors)}`,
    );
    const liveBidId = submitted.bidSubmit.bid.id;
    await timed('bidLiveMs', () => bidRow(pageA, liveBidId).waitFor({ timeout: 3_000 }));
    log(`the new bid appeared in A's bids after ${timings.bidLiveMs} ms`);
    const alert = pageA.locator('#alerts .alert.unread[data-kind="BID_RECEIVED"]', {
      hasText: config.liveBid.contractorName,
    });
    await timed('alertLiveMs', () => alert.waitFor({ timeout: 10_000 }));
    await pageA
      .locator('#unread', { hasText: String(unreadBefore + 1) })
      .waitFor({ timeout: 2_000 });
    log(
      `A's BID_RECEIVED alert arrived after ${timings.alertLiveMs} ms; unread ${unreadBefore} -> ${unreadBefore + 1}`,
    );
    await shoot(pageA, 'bid-and-alert');
    await alert.getByRole('button', { name: 'Mark read' }).click();
    await pageA
      .locator(`#alerts .alert[data-kind="BID_RECEIVED"]:not(.unread)`, {
        hasText: config.liveBid.contractorName,
      })
      .waitFor({ timeout: 3_000 });
    const unreadAfter = Number((await pageA.locator('#unread').textContent()) || 0);
    check(
      unreadAfter === unreadBefore,
      `marking read leaves ${unreadBefore} unread, not ${unreadAfter}`,
    );
    log('A marked the alert read');

    // 4. A awards a bid; both pages show the outcome.
    const row = bidRow(pageA, config.awardBidId);
    await row.getByRole('button', { name: 'Award' }).click();
    await timed('awardMs', async () => {
      await row.getByRole('button', { name: 'Confirm award' }).click();
      await pageA
        .locator(`#bids-body tr[data-bid-id="${config.awardBidId}"][data-status="AWARDED"]`)
        .waitFor();
    });
    await pageA
      .locator(`#bids-body tr[data-bid-id="${liveBidId}"][data-status="REJECTED"]`)
      .waitFor();
    check(
      (await pageA.getByRole('button', { name: 'Award' }).count()) === 0,
      'no Award button is left',
    );
    await pageB
      .locator(`#bids-body tr[data-bid-id="${config.awardBidId}"][data-status="AWARDED"]`)
      .waitFor({ timeout: 3_000 });
    await pageA
      .locator('#timeline .entry[data-kind="BID_AWARDED"]')
      .first()
      .waitFor({ timeout: 3_000 });
    log(
      `A awarded the bid (${timings.awardMs} ms); the others show rejected; B saw the award live`,
    );
    await shoot(pageA, 'awarded');

    // One socket carries all three subscriptions, authorized in connection_init.
    const open = socketsA.filter((socket) => !socket.ws.isClosed());
    check(open.length === 1, `A has one WebSocket open, not ${open.length}`);
    const init = open[0].sent[0];
    check(
      init?.type === 'connection_init' && init.payload?.authorization?.startsWith('Bearer '),
      `the socket starts with connection_init {authorization: "Bearer ..."}: ${JSON.stringify(init)}`,
    );
    check(
      ['timelineUpdated', 'bidUpdated', 'alertReceived'].every((field) =>
        subscribed(open[0], field),
      ),
      'the socket carries the timeline, bid and alert subscriptions',
    );

    // 5. A's network drops; B comments meanwhile; A catches up once back.
    const socketsBefore = socketsA.length;
    proxy.drop();
    await timed('dropNoticedMs', () => connection(pageA, 'reconnecting', 5_000));
    const shown = await pageA.locator('#connection').textContent();
    check(
      shown.includes('Reconnecting…'),
      `the connection shows "Reconnecting…", not ${JSON.stringify(shown)}`,
    );
    log(`A shows "Reconnecting…" ${timings.dropNoticedMs} ms after the drop`);
    await shoot(pageA, 'reconnecting');
    const offlineText = 'Appraisal came in at $590k, a bit over our ARV';
    await comment(pageB, offlineText);
    await entry(pageB, offlineText).waitFor();
    await pageA.waitForTimeout(1_000);
    check((await entry(pageA, offlineText).count()) === 0, 'A cannot see it while disconnected');
    check(
      (await pageA.locator('#connection').getAttribute('data-status')) === 'reconnecting',
      'A is still reconnecting while its network is down',
    );
    proxy.restore();
    await timed('resumeMs', async () => {
      await connection(pageA, 'live', 15_000);
      await entry(pageA, offlineText).waitFor({ timeout: 5_000 });
    });
    await pageA.waitForTimeout(500); // a duplicate would arrive right behind it
    check((await entry(pageA, offlineText).count()) === 1, 'the missed comment shows exactly once');
    check((await entry(pageA, liveText).count()) === 1, 'the earlier comment still shows once');
    const resumed = socketsA.slice(socketsBefore).filter((socket) => !socket.ws.isClosed());
    check(resumed.length === 1, `A has one WebSocket open again, not ${resumed.length}`);
    for (const field of ['timelineUpdated', 'bidUpdated', 'alertReceived']) {
      const since = subscribed(resumed[0], field)?.payload.variables.since;
      check(typeof since === 'string' && since, `${field} resubscribed with since, not ${since}`);
    }
    log(
      `A reconnected and showed the missed comment ${timings.resumeMs} ms after the network came back`,
    );
    await shoot(pageA, 'caught-up');

    if (config.docsScreenshot) {
      await pageA.mouse.move(0, 0);
      await pageA.waitForTimeout(2_600); // let the arrival highlights fade
      await pageA.screenshot({ path: config.docsScreenshot });
      console.log(`screenshot: ${config.docsScreenshot}`);
    }

    // 6. B's token is refreshed ahead of expiry, and B keeps working with the new one.
    const refreshed = pageB.waitForRequest(
      (request) =>
        request.url().endsWith('/graphql') && (request.postData() ?? '').includes('tokenRefresh'),
      { timeout: 10_000 },
    );
    await pageB.clock.fastForward('14:30');
    await refreshed;
    await connection(pageB, 'live', 15_000);
    // (markup in a comment is text: it shows as typed, and nothing runs)
    const afterRefresh = `Token refreshed <img src=x onerror="window.hacked=1"> <b>still</b> here (${tag})`;
    await comment(pageB, afterRefresh);
    await entry(pageA, afterRefresh).waitFor({ timeout: 3_000 });
    check((await pageA.locator('#timeline img, #timeline b').count()) === 0, 'no markup from data');
    check(!(await pageA.evaluate(() => window.hacked)), 'no script from data');
    log('B refreshed its token before expiry (tokenRefresh), reconnected, and commented again');

    // 7. A logs out.
    await pageA.click('#logout');
    await pageA.locator('#login-form').waitFor();
    check(
      (await pageA.evaluate(() => Object.keys(sessionStorage).length)) === 0,
      'logging out clears the session',
    );
    await shoot(pageA, 'logged-out');
    log('A logged out');

    check(problems.length === 0, `page problems:\n${problems.join('\n')}`);
    console.log(
      `RESULT ${JSON.stringify({ timings, screenshots, seconds: (Date.now() - started) / 1000 })}`,
    );
  } catch (error) {
    if (pageA) await shoot(pageA, 'failure-A').catch(() => {});
    if (pageB) await shoot(pageB, 'failure-B').catch(() => {});
    if (problems.length) console.error(`page problems:\n${problems.join('\n')}`);
    throw error;
  } finally {
    await contextA?.close().catch(() => {});
    await contextB?.close().catch(() => {});
    await browser.close();
    proxy.close();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(`FAILED: ${error.stack ?? error}`);
    process.exit(1);
  },
);
