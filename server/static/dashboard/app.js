// The live deal dashboard: sign in, the pipeline board, a deal's timeline and comments, its
// rehab project's bids (award one), and the user's alerts; all kept live over one WebSocket.

import { ApiError, Session, payload } from './api.js';
import { byId, compactMoney, h, label, money, refreshTimes, replace, timeAgo } from './dom.js';
import { LiveClient, socketUrl } from './live.js';
import * as Q from './queries.js';

const STATUSES = ['LEAD', 'ANALYZING', 'OFFER_MADE', 'UNDER_CONTRACT', 'CLOSED', 'DEAD'];
const DECIDED = new Set(['AWARDED', 'REJECTED', 'WITHDRAWN']); // a bid's final states
const TIMELINE_SIZE = 50;
const ALERTS_SIZE = 30;
const DEAL_PAGES = 10; // up to 1,000 deals on the board

const session = new Session();
const live = new LiveClient({
  url: socketUrl(),
  getToken: () => session.accessToken,
  renewToken: async () => {
    try {
      await session.refreshOrSignOut();
      return true;
    } catch {
      return false;
    }
  },
  onStatus: showConnection,
});

const state = freshState();

function freshState() {
  return {
    deals: [],
    dealId: null,
    deal: null,
    timeline: [], // newest first
    projects: [],
    projectId: null,
    bids: new Map(), // id -> bid, for the selected project
    confirming: null, // the bid id whose award awaits confirmation
    alerts: [], // newest first
    unread: 0,
    subscriptions: { timeline: null, bids: null, alerts: null },
    ticket: 0, // bumped on every deal selection; stale answers are dropped
  };
}

// ------------------------------------------------------------------------ sign in and out

async function boot() {
  byId('login-form').addEventListener('submit', onLogin);
  byId('logout').addEventListener('click', () => session.logout());
  byId('board-refresh').addEventListener('click', () => loadBoard());
  byId('comment-form').addEventListener('submit', onComment);
  byId('comment-body').addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.metaKey || event.ctrlKey)) {
      event.preventDefault();
      byId('comment-form').requestSubmit();
    }
  });
  byId('project-select').addEventListener('change', (event) => selectProject(event.target.value));
  byId('alerts-toggle').addEventListener('click', toggleAlerts);
  byId('alerts-read-all').addEventListener('click', () =>
    markRead(state.alerts.filter((alert) => !alert.readAt).map((alert) => alert.id)),
  );
  window.addEventListener('hashchange', () => {
    const id = dealFromHash();
    if (id && id !== state.dealId && session.user) selectDeal(id);
  });
  session.onChange((kind) => {
    if (kind === 'refresh') live.restart(); // the socket keeps the token it connected with
    if (kind === 'logout') {
      history.replaceState(null, '', window.location.pathname); // the next user starts afresh
      showLogin('You are signed out.');
    }
  });
  setInterval(() => refreshTimes(), 30_000);

  if (await session.restore()) enterApp();
  else showLogin();
}

async function onLogin(event) {
  event.preventDefault();
  const form = event.target;
  const button = form.querySelector('button[type=submit]');
  const error = byId('login-error');
  error.hidden = true;
  button.disabled = true;
  button.textContent = 'Signing in…';
  try {
    await session.login(form.email.value.trim(), form.password.value);
    form.password.value = '';
    enterApp();
  } catch (failure) {
    error.textContent =
      failure instanceof ApiError ? failure.message : 'Something went wrong. Please try again.';
    error.hidden = false;
  } finally {
    button.disabled = false;
    button.textContent = 'Sign in';
  }
}

function showLogin(message = '') {
  live.stop();
  // A new ticket drops answers still on their way; nothing of the previous user stays.
  Object.assign(state, freshState(), { ticket: state.ticket + 1 });
  for (const id of ['board', 'deal-count', 'alerts', 'timeline', 'bids-body', 'toast']) {
    replace(byId(id));
  }
  renderAlerts();
  showDealPlaceholder();
  byId('app-view').hidden = true;
  byId('login-view').hidden = false;
  const notice = byId('login-notice');
  notice.textContent = message;
  notice.hidden = !message;
  byId('login-form').email.focus();
  document.title = 'Sign in — REOS Deal desk';
}

function enterApp() {
  const user = session.user;
  byId('login-view').hidden = true;
  byId('app-view').hidden = false;
  replace(byId('user-name'), user.name);
  replace(byId('user-meta'), `${label(user.role)} · ${user.tenant.name}`);
  byId('comment-form').hidden = !session.can('timeline:comment');
  document.title = 'REOS Deal desk';
  live.start();
  loadBoard();
  loadAlerts();
  const id = dealFromHash();
  if (id) selectDeal(id);
  else showDealPlaceholder();
}

function showConnection(status) {
  const el = byId('connection');
  const text = {
    idle: 'Offline',
    connecting: 'Connecting…',
    live: 'Live',
    reconnecting: 'Reconnecting…',
    failed: 'Live updates unavailable',
  }[status];
  el.dataset.status = status;
  replace(el, h('span', { class: 'dot', 'aria-hidden': 'true' }), text);
  el.title =
    status === 'reconnecting'
      ? 'The live connection dropped. Updates made meanwhile will arrive once it is back.'
      : '';
}

// ------------------------------------------------------------------------ pipeline board

async function loadBoard() {
  const board = byId('board');
  if (!state.deals.length) replace(board, h('p', { class: 'muted pad' }, 'Loading deals…'));
  try {
    const deals = [];
    let after = null;
    let total = 0;
    for (let page = 0; page < DEAL_PAGES; page += 1) {
      const data = await session.request(Q.DEALS, { first: 100, after });
      total = data.deals.totalCount;
      deals.push(...data.deals.edges.map((edge) => edge.node));
      if (!data.deals.pageInfo.hasNextPage) break;
      after = data.deals.pageInfo.endCursor;
    }
    state.deals = deals;
    replace(byId('deal-count'), `${total} deal${total === 1 ? '' : 's'}`);
    renderBoard();
    const selected = deals.find((deal) => deal.id === state.dealId);
    if (selected && state.deal && selected.status !== state.deal.status) {
      state.deal.status = selected.status;
      renderDealHeader();
    }
  } catch (error) {
    replace(board, h('p', { class: 'error pad' }, `Deals could not be loaded: ${error.message}`));
  }
}

function renderBoard() {
  const columns = STATUSES.map((status) => {
    const deals = state.deals.filter((deal) => deal.status === status);
    const value = deals.reduce((sum, deal) => sum + Number(deal.purchasePrice ?? 0), 0);
    return h(
      'section',
      { class: `column column--${status.toLowerCase()}`, 'aria-label': label(status) },
      h(
        'header',
        { class: 'column-head' },
        h('h3', null, label(status)),
        h('span', { class: 'count' }, String(deals.length)),
        value ? h('span', { class: 'sum' }, compactMoney(value)) : null,
      ),
      h(
        'div',
        { class: 'cards' },
        deals.length ? deals.map(dealCard) : h('p', { class: 'muted empty-column' }, 'No deals'),
      ),
    );
  });
  replace(byId('board'), columns);
}

function dealCard(deal) {
  const address = deal.property?.address;
  const place = address ? `${address.city}, ${address.stateOrProvince}` : '';
  return h(
    'button',
    {
      type: 'button',
      class: 'deal-card',
      dataset: { dealId: deal.id },
      'aria-pressed': deal.id === state.dealId ? 'true' : 'false',
      onclick: () => selectDeal(deal.id),
    },
    h('span', { class: 'deal-card-name' }, deal.name),
    h('span', { class: 'deal-card-place' }, place),
    h(
      'span',
      { class: 'deal-card-foot' },
      h('span', { class: 'tag' }, label(deal.strategy)),
      h(
        'span',
        { class: 'deal-card-price', title: money(deal.purchasePrice) },
        deal.purchasePrice == null ? '' : compactMoney(Number(deal.purchasePrice)),
      ),
    ),
  );
}

function markSelectedCard() {
  for (const card of document.querySelectorAll('.deal-card')) {
    card.setAttribute('aria-pressed', card.dataset.dealId === state.dealId ? 'true' : 'false');
  }
}

// ------------------------------------------------------------------------ one deal

function dealFromHash() {
  const match = /^#deal=(.+)$/.exec(window.location.hash);
  return match ? decodeURIComponent(match[1]) : null;
}

function showDealPlaceholder() {
  byId('deal-empty').hidden = false;
  byId('deal-detail').hidden = true;
}

async function selectDeal(id) {
  const ticket = ++state.ticket;
  state.subscriptions.timeline?.unsubscribe();
  state.subscriptions.bids?.unsubscribe();
  state.subscriptions.timeline = state.subscriptions.bids = null;
  Object.assign(state, { dealId: id, deal: null, timeline: [], projects: [], projectId: null });
  state.bids = new Map();
  if (dealFromHash() !== id) history.replaceState(null, '', `#deal=${encodeURIComponent(id)}`);
  markSelectedCard();
  byId('deal-empty').hidden = true;
  byId('deal-detail').hidden = false;
  replace(byId('deal-name'), 'Loading…');
  replace(byId('deal-meta'));
  replace(byId('deal-stats'));
  replace(byId('timeline'), h('li', { class: 'muted' }, 'Loading timeline…'));
  replace(byId('bids-body'));

  let deal;
  try {
    const data = await session.request(Q.DEAL, {
      id,
      timeline: TIMELINE_SIZE,
      withTimeline: session.can('timeline:read'), // a viewer's role cannot read timelines
    });
    if (ticket !== state.ticket) return;
    deal = data.deal;
  } catch (error) {
    if (ticket !== state.ticket) return;
    replace(byId('deal-name'), 'This deal could not be loaded');
    replace(byId('timeline'), h('li', { class: 'error' }, error.message));
    return;
  }
  if (!deal) {
    replace(byId('deal-name'), 'No such deal');
    replace(byId('timeline'));
    return;
  }
  state.deal = deal;
  renderDealHeader();

  if (deal.timeline) {
    state.timeline = deal.timeline.edges.map((edge) => edge.node);
    renderTimeline();
    state.subscriptions.timeline = live.subscribe({
      query: Q.TIMELINE_UPDATED,
      variables: { dealId: id },
      since: state.timeline[0]?.cursor ?? null, // replay anything newer than what we show
      cursorOf: (data) => data.timelineUpdated?.cursor,
      onData: (data) => addTimelineEntry(data.timelineUpdated, true),
      onError: (errors) => toast(`Timeline updates stopped: ${errors[0]?.message ?? 'error'}`),
      onResume: () => ticket === state.ticket && reloadTimeline(ticket),
    });
  } else {
    replace(byId('timeline'), h('li', { class: 'muted' }, 'Your role cannot read deal timelines.'));
  }

  state.projects = deal.constructionProjects ?? [];
  renderProjectPicker();
  if (state.projects.length) selectProject(state.projects[0].id);
  else renderBids();
}

function renderDealHeader() {
  const deal = state.deal;
  if (!deal) return;
  const address = deal.property?.address;
  replace(byId('deal-name'), deal.name);
  replace(
    byId('deal-meta'),
    h('span', { class: `pill pill--${deal.status.toLowerCase()}` }, label(deal.status)),
    h('span', { class: 'tag' }, label(deal.strategy)),
    address ? h('span', { class: 'address' }, address.unparsedAddress) : null,
  );
  const team = (deal.team ?? []).filter((member) => member.user);
  replace(
    byId('deal-stats'),
    stat('Purchase', money(deal.purchasePrice)),
    stat('Repairs', money(deal.estimatedRepairs)),
    stat('ARV', money(deal.arv)),
    stat('Expected profit', money(deal.expectedProfit)),
    team.length
      ? h(
          'div',
          { class: 'stat team' },
          h('dt', null, 'Team'),
          h(
            'dd',
            null,
            team.map((member) =>
              h(
                'span',
                { class: 'avatar', title: `${member.user.name} (${label(member.role)})` },
                initials(member.user.name),
              ),
            ),
          ),
        )
      : null,
  );
}

function stat(name, value) {
  return h('div', { class: 'stat' }, h('dt', null, name), h('dd', null, value));
}

function initials(name) {
  return name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((part) => part[0].toUpperCase())
    .join('');
}

// ------------------------------------------------------------------------ timeline

async function reloadTimeline(ticket) {
  try {
    const variables = { id: state.dealId, timeline: TIMELINE_SIZE, withTimeline: true };
    const data = await session.request(Q.DEAL, variables);
    if (ticket !== state.ticket || !data.deal?.timeline) return;
    for (const edge of [...data.deal.timeline.edges].reverse()) addTimelineEntry(edge.node, false);
  } catch {
    // the next event or reconnect tries again
  }
}

/** Add an entry once (the mutation's answer and the live event may both bring it). */
function addTimelineEntry(entry, fresh) {
  if (!entry || state.timeline.some((known) => known.id === entry.id)) return;
  state.timeline.unshift(entry);
  state.timeline.sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
  const list = byId('timeline');
  const index = state.timeline.indexOf(entry);
  const item = timelineItem(entry, fresh);
  list.querySelector('.muted')?.remove();
  list.insertBefore(item, list.children[index] ?? null);
  if (entry.kind === 'STATUS_CHANGED') loadBoard();
  if (entry.kind === 'PROJECT_CREATED') reloadProjects(state.ticket);
}

async function reloadProjects(ticket) {
  try {
    const variables = { id: state.dealId, timeline: 1, withTimeline: false };
    const data = await session.request(Q.DEAL, variables);
    if (ticket !== state.ticket || !data.deal) return;
    state.projects = data.deal.constructionProjects ?? [];
    renderProjectPicker();
    if (!state.projectId && state.projects.length) selectProject(state.projects[0].id);
    else renderBids();
  } catch {
    // shown on the next selection
  }
}

function renderTimeline() {
  const items = state.timeline.map((entry) => timelineItem(entry, false));
  replace(byId('timeline'), items.length ? items : h('li', { class: 'muted' }, 'Nothing yet.'));
}

function timelineItem(entry, fresh) {
  const comment = entry.kind === 'COMMENT';
  const classes = ['entry', `entry--${entry.kind.toLowerCase()}`];
  if (comment) classes.push('entry--is-comment');
  if (fresh) classes.push('fresh');
  return h(
    'li',
    {
      class: classes.join(' '),
      dataset: { entryId: entry.id, kind: entry.kind },
    },
    h('span', { class: 'entry-mark', 'aria-hidden': 'true' }),
    h(
      'div',
      { class: 'entry-body' },
      h('p', { class: 'entry-message' }, entry.message),
      h(
        'p',
        { class: 'entry-meta' },
        entry.actor ? h('span', { class: 'entry-actor' }, entry.actor.name) : null,
        h('span', { class: 'entry-kind' }, comment ? 'commented' : label(entry.kind)),
        timeAgo(entry.createdAt),
      ),
    ),
  );
}

async function onComment(event) {
  event.preventDefault();
  const field = byId('comment-body');
  const body = field.value.trim();
  const error = byId('comment-error');
  error.hidden = true;
  if (!body || !state.dealId) return;
  const button = event.target.querySelector('button[type=submit]');
  button.disabled = true;
  try {
    const data = await session.request(Q.COMMENT_ADD, { dealId: state.dealId, body });
    const entry = payload(data.timelineCommentAdd, 'entry');
    field.value = '';
    addTimelineEntry(entry, true);
  } catch (failure) {
    error.textContent = failure.message;
    error.hidden = false;
  } finally {
    button.disabled = false;
    field.focus();
  }
}

// ------------------------------------------------------------------------ bids

function renderProjectPicker() {
  const picker = byId('project-select');
  replace(
    picker,
    state.projects.map((project) => h('option', { value: project.id }, project.name)),
  );
  picker.hidden = state.projects.length < 2;
}

function selectProject(id) {
  state.subscriptions.bids?.unsubscribe();
  state.projectId = id;
  state.bids = new Map();
  state.confirming = null;
  byId('project-select').value = id;
  state.subscriptions.bids = live.subscribe({
    query: Q.BID_UPDATED,
    variables: { projectId: id },
    since: null, // bids carry no cursor: stream from now, and load the list next
    cursorOf: (data) => data.bidUpdated?.cursor,
    onData: (data) => onBidEvent(id, data.bidUpdated),
    onError: (errors) => toast(`Bid updates stopped: ${errors[0]?.message ?? 'error'}`),
    onResume: () => loadBids(id),
  });
  loadBids(id);
}

async function loadBids(id) {
  try {
    const data = await session.request(Q.PROJECT_BIDS, { id });
    if (id !== state.projectId || !data.constructionProject) return;
    const project = data.constructionProject;
    state.projects = state.projects.map((known) =>
      known.id === id ? { ...known, ...project } : known,
    );
    for (const bid of project.bids) mergeBid(bid);
    renderBids();
  } catch (error) {
    if (id === state.projectId) toast(`Bids could not be loaded: ${error.message}`);
  }
}

/** Keep the later state of a bid whatever order answers and events arrive in. */
function mergeBid(bid) {
  const known = state.bids.get(bid.id);
  if (known && DECIDED.has(known.status) && !DECIDED.has(bid.status)) return false;
  state.bids.set(bid.id, { ...known, ...bid });
  return !known || known.status !== bid.status || known.amount !== bid.amount;
}

function onBidEvent(projectId, event) {
  if (!event || projectId !== state.projectId) return;
  const changed = mergeBid(event.bid);
  if (event.kind === 'AWARDED') {
    // The others were rejected in the same transaction: show it now, then confirm.
    for (const bid of state.bids.values()) {
      if (bid.id !== event.bid.id && bid.status === 'SUBMITTED') bid.status = 'REJECTED';
    }
    loadBids(projectId);
  }
  renderBids(changed ? event.bid.id : null);
}

function renderBids(flashId = null) {
  const project = state.projects.find((known) => known.id === state.projectId);
  const summary = byId('project-summary');
  const body = byId('bids-body');
  byId('bids-table').hidden = !project;
  if (!project) {
    replace(summary, h('p', { class: 'muted' }, 'No rehab project on this deal yet.'));
    replace(body);
    return;
  }
  const bids = [...state.bids.values()];
  const awarded = bids.find((bid) => bid.status === 'AWARDED');
  replace(
    summary,
    h('p', { class: 'project-name' }, project.name),
    h(
      'p',
      { class: 'muted' },
      `Budget ${money(project.budget)} · ${label(project.status)} · `,
      awarded
        ? `awarded to ${awarded.contractor?.name ?? 'a contractor'} for ${money(awarded.amount)}`
        : `${bids.length} bid${bids.length === 1 ? '' : 's'}, none awarded`,
    ),
  );
  const canAward = session.can('construction:write') && !awarded;
  replace(
    body,
    bids.length
      ? bids.map((bid) => bidRow(bid, canAward, project, bid.id === flashId))
      : h('tr', null, h('td', { colspan: '5', class: 'muted' }, 'No bids yet.')),
  );
}

function bidRow(bid, canAward, project, fresh) {
  const over = Number(bid.amount) > Number(project.budget);
  let action = null;
  if (canAward && bid.status === 'SUBMITTED') {
    action =
      state.confirming === bid.id
        ? h(
            'span',
            { class: 'confirm' },
            h(
              'button',
              { type: 'button', class: 'primary small', onclick: () => award(bid) },
              'Confirm award',
            ),
            h(
              'button',
              { type: 'button', class: 'ghost small', onclick: () => confirmAward(null) },
              'Cancel',
            ),
          )
        : h(
            'button',
            { type: 'button', class: 'small', onclick: () => confirmAward(bid.id) },
            'Award',
          );
  }
  return h(
    'tr',
    { class: fresh ? 'fresh' : null, dataset: { bidId: bid.id, status: bid.status } },
    h(
      'td',
      null,
      h('span', { class: 'contractor' }, bid.contractor?.name ?? 'Unknown contractor'),
      bid.contractor ? h('span', { class: 'trade' }, label(bid.contractor.trade)) : null,
    ),
    h(
      'td',
      { class: `amount${over ? ' over' : ''}`, title: over ? 'Over the project budget' : null },
      money(bid.amount),
    ),
    h('td', { class: 'scope' }, bid.scope ?? ''),
    h(
      'td',
      null,
      h('span', { class: `pill bid-status pill--${bid.status.toLowerCase()}` }, label(bid.status)),
    ),
    h('td', { class: 'actions' }, action),
  );
}

function confirmAward(id) {
  state.confirming = id;
  renderBids();
}

async function award(bid) {
  state.confirming = null;
  try {
    const data = await session.request(Q.BID_AWARD, { id: bid.id });
    const awarded = payload(data.bidAward, 'bid');
    onBidEvent(state.projectId, { kind: 'AWARDED', bid: awarded });
  } catch (error) {
    toast(`The bid was not awarded: ${error.message}`);
    renderBids();
  }
}

// ------------------------------------------------------------------------ alerts

async function loadAlerts() {
  try {
    const data = await session.request(Q.ALERTS, { first: ALERTS_SIZE });
    const fetched = data.alerts.edges.map((edge) => edge.node);
    const known = new Set(fetched.map((alert) => alert.id));
    // live ones that arrived while this was loading stay
    state.alerts = [...state.alerts.filter((alert) => !known.has(alert.id)), ...fetched];
    state.alerts.sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
    state.unread = data.alertUnreadCount;
    renderAlerts();
    if (!state.subscriptions.alerts) {
      state.subscriptions.alerts = live.subscribe({
        query: Q.ALERT_RECEIVED,
        since: fetched[0]?.cursor ?? null,
        cursorOf: (result) => result.alertReceived?.cursor,
        onData: (result) => onAlert(result.alertReceived),
        onError: (errors) => toast(`Alert updates stopped: ${errors[0]?.message ?? 'error'}`),
        onResume: () => loadAlerts(),
      });
    }
  } catch (error) {
    replace(
      byId('alerts'),
      h('li', { class: 'error' }, `Alerts could not be loaded: ${error.message}`),
    );
  }
}

function onAlert(alert) {
  if (!alert || state.alerts.some((known) => known.id === alert.id)) return;
  state.alerts.unshift(alert);
  if (!alert.readAt) state.unread += 1;
  renderAlerts(alert.id);
}

function renderAlerts(freshId = null) {
  const badge = byId('unread');
  badge.textContent = String(state.unread);
  badge.hidden = state.unread === 0;
  byId('alerts-toggle').setAttribute('aria-label', `Alerts, ${state.unread} unread`);
  byId('alerts-read-all').disabled = state.unread === 0;
  replace(
    byId('alerts'),
    state.alerts.length
      ? state.alerts.map((alert) => alertItem(alert, alert.id === freshId))
      : h('li', { class: 'muted' }, 'No alerts.'),
  );
}

function alertItem(alert, fresh) {
  const unread = !alert.readAt;
  return h(
    'li',
    {
      class: `alert${unread ? ' unread' : ''}${fresh ? ' fresh' : ''}`,
      dataset: { alertId: alert.id, kind: alert.kind },
    },
    h(
      'div',
      { class: 'alert-head' },
      h('span', { class: `tag tag--${alert.kind.toLowerCase()}` }, label(alert.kind)),
      timeAgo(alert.createdAt),
    ),
    h('p', { class: 'alert-title' }, alert.title),
    h('p', { class: 'alert-body' }, alert.body),
    h(
      'div',
      { class: 'alert-actions' },
      alert.deal
        ? h(
            'button',
            {
              type: 'button',
              class: 'link',
              title: alert.deal.name,
              onclick: () => selectDeal(alert.deal.id),
            },
            'Open deal',
          )
        : null,
      unread
        ? h(
            'button',
            { type: 'button', class: 'link', onclick: () => markRead([alert.id]) },
            'Mark read',
          )
        : null,
    ),
  );
}

async function markRead(ids) {
  if (!ids.length) return;
  try {
    const data = await session.request(Q.ALERTS_MARK_READ, { ids });
    const read = payload(data.alertMarkRead, 'alerts');
    const readAt = new Map(read.map((alert) => [alert.id, alert.readAt]));
    for (const alert of state.alerts) {
      if (readAt.has(alert.id) && !alert.readAt) {
        alert.readAt = readAt.get(alert.id);
        state.unread = Math.max(0, state.unread - 1);
      }
    }
    renderAlerts();
  } catch (error) {
    toast(`Could not mark read: ${error.message}`);
  }
}

function toggleAlerts() {
  const app = byId('app-view');
  const open = !app.classList.contains('alerts-closed');
  app.classList.toggle('alerts-closed', open);
  byId('alerts-toggle').setAttribute('aria-expanded', open ? 'false' : 'true');
}

// ------------------------------------------------------------------------ messages

let toastTimer = null;

function toast(message) {
  const el = byId('toast');
  el.textContent = message;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    el.hidden = true;
  }, 6_000);
}

boot();
