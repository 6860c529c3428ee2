// A small GraphQL-over-WebSocket client (the graphql-transport-ws protocol) that keeps every
// subscription of the page on one socket, and survives drops.
//
// Protocol: connection_init {authorization: "Bearer <token>"} -> connection_ack; then
// subscribe {id, payload: {query, variables}} -> next* -> complete | error; ping <-> pong
// either way; complete from us ends a subscription.
//
// Resuming: each subscription remembers the cursor of the last event it received (the
// subscriptions here take it as `since` and replay what came after it first). After a drop
// the client shows "reconnecting", reconnects with exponential backoff and jitter, and
// subscribes again with `since` = that cursor, so nothing is missed and nothing repeats.

const PROTOCOL = 'graphql-transport-ws';
const ACK_TIMEOUT_MS = 10_000;
const HEARTBEAT_MS = 15_000; // we ping when quiet; no message for two beats = a dead socket
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 10_000;
const FORBIDDEN = 4403; // bad or expired token (or a refused Origin)
const TOO_MANY_CONNECTIONS = 4429;

/** ws(s)://<this host>/graphql */
export function socketUrl(path = '/graphql') {
  const secure = window.location.protocol === 'https:';
  return `${secure ? 'wss' : 'ws'}://${window.location.host}${path}`;
}

/**
 * Status (for `onStatus`): 'idle' (stopped), 'connecting' (first connect, or a new token),
 * 'live', 'reconnecting' (after a drop, until the socket is back and acknowledged), 'failed'
 * (the server keeps refusing us; `restart` tries again).
 */
export class LiveClient {
  /**
   * @param {object} options
   * @param {string} options.url             the WebSocket URL
   * @param {() => string|null} options.getToken      the access token to connect with
   * @param {() => Promise<boolean>} options.renewToken  after a 4403: true if a new token
   *        was obtained (then we reconnect), false to stop (signed out)
   * @param {(status: string, detail: object) => void} [options.onStatus]
   */
  constructor({ url, getToken, renewToken, onStatus = () => {} }) {
    this.url = url;
    this.getToken = getToken;
    this.renewToken = renewToken;
    this.onStatus = onStatus;
    this.status = 'idle';
    this.socket = null;
    this.acknowledged = false;
    this.running = false;
    this.attempt = 0; // failed connects in a row
    this.everConnected = false;
    this.refusals = 0; // 4403 closes in a row (a new token did not help: give up)
    this.nextId = 0;
    this.subscriptions = new Set(); // what the page wants
    this.byId = new Map(); // operation id on the current socket -> subscription
    this.timers = { reconnect: null, ack: null, heartbeat: null };
    this.lastMessageAt = 0;
    this.onOnline = () => this.reconnectNow();
    this.onOffline = () => this.drop('offline');
  }

  start() {
    if (this.running) return;
    this.running = true;
    window.addEventListener('online', this.onOnline);
    window.addEventListener('offline', this.onOffline);
    this.connect();
  }

  /** Close for good (sign-out): every subscription is forgotten. */
  stop() {
    this.running = false;
    window.removeEventListener('online', this.onOnline);
    window.removeEventListener('offline', this.onOffline);
    this.subscriptions.clear();
    this.teardown(1000, 'Signed out');
    this.setStatus('idle');
  }

  /** Reconnect at once with the current token (after a refresh), resuming every subscription. */
  restart() {
    if (!this.running) return;
    this.teardown(1000, 'New token');
    this.attempt = 0;
    this.setStatus('connecting');
    this.connect();
  }

  /**
   * Subscribe while the client runs (now if connected, else once acknowledged), and again
   * after every reconnect with `since` set to the last cursor received.
   *
   * @param {object} spec
   * @param {string} spec.query            a subscription with a `$since: String` variable
   * @param {object} [spec.variables]      the other variables
   * @param {string|null} [spec.since]     resume after this cursor (null: from now on)
   * @param {(data: object) => string|null} spec.cursorOf   the cursor an event carries
   * @param {(data: object) => void} spec.onData
   * @param {(errors: object[]) => void} [spec.onError]    the server ended it with errors
   * @param {() => void} [spec.onResume]   resubscribed without a cursor: refetch to fill gaps
   * @returns {{unsubscribe: () => void, since: () => string|null}}
   */
  subscribe(spec) {
    const subscription = {
      onError: () => {},
      onResume: () => {},
      variables: {},
      since: null,
      ...spec,
      id: null,
      active: true,
    };
    this.subscriptions.add(subscription);
    if (this.acknowledged) this.send(subscription);
    return {
      unsubscribe: () => this.unsubscribe(subscription),
      since: () => subscription.since,
    };
  }

  unsubscribe(subscription) {
    if (!subscription.active) return;
    subscription.active = false;
    this.subscriptions.delete(subscription);
    if (subscription.id && this.byId.get(subscription.id) === subscription) {
      this.byId.delete(subscription.id);
      this.write({ id: subscription.id, type: 'complete' });
    }
  }

  // ------------------------------------------------------------------ connection

  connect() {
    if (!this.running || this.socket) return; // one socket at a time
    clearTimeout(this.timers.reconnect);
    const token = this.getToken();
    if (!token) return;
    if (this.status === 'idle') this.setStatus('connecting');
    let socket;
    try {
      socket = new WebSocket(this.url, PROTOCOL);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    this.acknowledged = false;
    socket.onopen = () => {
      this.lastMessageAt = Date.now();
      this.write({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
      this.timers.ack = setTimeout(() => this.drop('no acknowledgement'), ACK_TIMEOUT_MS);
    };
    socket.onmessage = (event) => this.receive(event.data);
    socket.onclose = (event) => this.closed(socket, token, event.code, event.reason);
    socket.onerror = () => {}; // a close event follows
  }

  receive(text) {
    this.lastMessageAt = Date.now();
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    switch (message.type) {
      case 'connection_ack':
        clearTimeout(this.timers.ack);
        this.acknowledged = true;
        this.attempt = 0;
        this.refusals = 0;
        this.everConnected = true;
        this.setStatus('live');
        this.heartbeat();
        for (const subscription of this.subscriptions) this.send(subscription);
        break;
      case 'ping':
        this.write(message.payload ? { type: 'pong', payload: message.payload } : { type: 'pong' });
        break;
      case 'pong':
        break;
      case 'next': {
        const subscription = this.byId.get(message.id);
        if (!subscription) break;
        const { data, errors } = message.payload ?? {};
        if (errors?.length) subscription.onError(errors);
        if (data) {
          const cursor = subscription.cursorOf(data);
          if (cursor) subscription.since = cursor;
          subscription.onData(data);
        }
        break;
      }
      case 'error': {
        // The server refused or ended this subscription: resubscribing would fail the same way.
        const subscription = this.byId.get(message.id);
        if (!subscription) break;
        this.byId.delete(message.id);
        this.subscriptions.delete(subscription);
        subscription.active = false;
        subscription.onError(Array.isArray(message.payload) ? message.payload : [message.payload]);
        break;
      }
      case 'complete': {
        // The server ended a stream we still want: pick it up again from its cursor.
        const subscription = this.byId.get(message.id);
        if (!subscription) break;
        this.byId.delete(message.id);
        subscription.id = null;
        setTimeout(() => {
          if (subscription.active && this.acknowledged && !subscription.id) this.send(subscription);
        }, 1_000);
        break;
      }
      default:
        break;
    }
  }

  send(subscription) {
    const id = String(++this.nextId);
    subscription.id = id;
    this.byId.set(id, subscription);
    const variables = { ...subscription.variables, since: subscription.since };
    this.write({ id, type: 'subscribe', payload: { query: subscription.query, variables } });
    if (!subscription.since && subscription.resumed) subscription.onResume();
    subscription.resumed = true;
  }

  write(message) {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  heartbeat() {
    clearInterval(this.timers.heartbeat);
    this.timers.heartbeat = setInterval(() => {
      const quiet = Date.now() - this.lastMessageAt;
      if (quiet > 2 * HEARTBEAT_MS) this.drop('heartbeat lost');
      else if (quiet >= HEARTBEAT_MS / 2) this.write({ type: 'ping' });
    }, HEARTBEAT_MS);
  }

  async closed(socket, token, code, reason) {
    if (socket !== this.socket) return; // an old socket we already replaced
    this.teardown();
    if (!this.running) return;
    if (code === FORBIDDEN) {
      // The token expired or was refused: get a new one, or stop if the session is over.
      this.refusals += 1;
      if (this.refusals > 2) {
        this.teardown();
        this.setStatus('failed', { code, reason });
        return;
      }
      this.setStatus('reconnecting', { code, reason });
      let renewed = this.getToken() !== token; // refreshed since this socket connected
      if (!renewed) {
        try {
          renewed = await this.renewToken();
        } catch {
          renewed = false;
        }
      }
      if (!this.running) return;
      if (!renewed) {
        this.stop();
        return;
      }
    }
    this.scheduleReconnect({ code, reason, slow: code === TOO_MANY_CONNECTIONS });
  }

  /** Treat the socket as gone now (offline, no ack, no heartbeat), and reconnect. */
  drop(why) {
    if (!this.running || !this.socket) return;
    this.teardown(4000, why);
    this.scheduleReconnect({ reason: why });
  }

  /** Back online: skip the rest of the backoff. */
  reconnectNow() {
    if (!this.running || this.socket) return;
    this.attempt = 0;
    this.connect();
  }

  scheduleReconnect(detail = {}) {
    if (!this.running) return;
    this.setStatus(this.everConnected ? 'reconnecting' : 'connecting', detail);
    const exponent = Math.min(this.attempt, 10);
    const ceiling = Math.min(
      BACKOFF_MAX_MS * (detail.slow ? 3 : 1),
      BACKOFF_BASE_MS * 2 ** exponent,
    );
    const delay = ceiling * (0.5 + Math.random() * 0.5);
    this.attempt += 1;
    clearTimeout(this.timers.reconnect);
    this.timers.reconnect = setTimeout(() => this.connect(), delay);
  }

  /** Forget the current socket (closing it if open); subscriptions stay wanted. */
  teardown(code, reason) {
    clearTimeout(this.timers.ack);
    clearTimeout(this.timers.reconnect);
    clearInterval(this.timers.heartbeat);
    const socket = this.socket;
    this.socket = null;
    this.acknowledged = false;
    this.byId.clear();
    for (const subscription of this.subscriptions) subscription.id = null;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      if (code && socket.readyState <= WebSocket.OPEN) {
        try {
          socket.close(code, reason);
        } catch {
          socket.close();
        }
      }
    }
  }

  setStatus(status, detail = {}) {
    if (status === this.status && status !== 'reconnecting') return;
    this.status = status;
    this.onStatus(status, detail);
  }
}
