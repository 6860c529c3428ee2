// GraphQL over HTTP, and the signed-in session (login, refresh before expiry, logout).
//
// Every request is a POST of application/json to /graphql (the server refuses other content
// types, as a CSRF defence) with `Authorization: Bearer <access token>` once signed in.
// The session lives in sessionStorage: it survives a reload of this tab, not the tab itself.

const ENDPOINT = '/graphql';
const STORAGE_KEY = 'reos.dashboard.session';

/** A failed GraphQL call: `code` is the error's extensions.code or a UserError's code. */
export class ApiError extends Error {
  constructor(message, code = 'INTERNAL', details = []) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.details = details;
  }
}

/** POST one operation; its `data`, or an ApiError for top-level errors. */
export async function post(query, variables = {}, token = null) {
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(ENDPOINT, {
      method: 'POST',
      headers,
      body: JSON.stringify({ query, variables }),
      credentials: 'omit',
    });
  } catch {
    throw new ApiError('The server could not be reached. Check your connection.', 'NETWORK');
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON: handled below
  }
  const errors = body?.errors ?? [];
  if (errors.length) {
    const first = errors[0];
    const code =
      first.extensions?.code ?? (response.status === 401 ? 'UNAUTHENTICATED' : 'INTERNAL');
    throw new ApiError(first.message || 'The request failed.', code, errors);
  }
  if (!response.ok || !body) {
    throw new ApiError(`The server answered ${response.status}.`, `HTTP_${response.status}`);
  }
  return body.data;
}

/** A mutation payload's object, or an ApiError made of its UserErrors. */
export function payload(result, field) {
  const errors = result?.errors ?? [];
  if (errors.length) {
    throw new ApiError(errors.map((e) => e.message).join(' '), errors[0].code, errors);
  }
  return field ? result[field] : result;
}

const AUTH_FIELDS = `accessToken refreshToken expiresIn
  user { id email name role permissions tenant { id name } }
  errors { field message code }`;
const LOGIN = `mutation DashboardLogin($email: String!, $password: String!) {
  login(email: $email, password: $password) { ${AUTH_FIELDS} } }`;
const REFRESH = `mutation DashboardTokenRefresh($refreshToken: String!) {
  tokenRefresh(refreshToken: $refreshToken) { ${AUTH_FIELDS} } }`;
const LOGOUT = `mutation DashboardLogout($refreshToken: String!) {
  logout(refreshToken: $refreshToken) { ok errors { message code } } }`;

/**
 * The signed-in user and their tokens. `request` sends an operation as them; the access token
 * is refreshed (tokenRefresh rotates the refresh token) a minute before it expires, and once
 * more if the server says it is no longer valid. Listeners hear 'login', 'refresh', 'logout'.
 */
export class Session {
  constructor(storage = window.sessionStorage) {
    this.storage = storage;
    this.state = null; // {accessToken, refreshToken, expiresAt (ms), user}
    this.listeners = new Set();
    this.refreshTimer = null;
    this.refreshing = null; // the refresh in flight: refresh tokens are single-use
  }

  get user() {
    return this.state?.user ?? null;
  }

  get accessToken() {
    return this.state?.accessToken ?? null;
  }

  can(permission) {
    return Boolean(this.state?.user?.permissions?.includes(permission));
  }

  onChange(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(kind) {
    for (const listener of this.listeners) listener(kind, this);
  }

  /** Resume the tab's session: true when signed in (refreshing if the token expired). */
  async restore() {
    let saved = null;
    try {
      saved = JSON.parse(this.storage.getItem(STORAGE_KEY) ?? 'null');
    } catch {
      saved = null;
    }
    if (!saved?.refreshToken) return false;
    this.state = saved;
    if (this.expiresSoon()) {
      try {
        await this.refresh();
      } catch {
        this.clear();
        return false;
      }
    } else {
      this.schedule();
    }
    return true;
  }

  async login(email, password) {
    const data = await post(LOGIN, { email, password });
    this.accept(payload(data.login));
    this.emit('login');
    return this.user;
  }

  /** Rotate the tokens (one refresh at a time: reusing a refresh token revokes the session). */
  refresh() {
    if (!this.refreshing) {
      const refreshToken = this.state?.refreshToken;
      this.refreshing = (async () => {
        if (!refreshToken) throw new ApiError('Not signed in.', 'UNAUTHENTICATED');
        const data = await post(REFRESH, { refreshToken });
        this.accept(payload(data.tokenRefresh));
        this.emit('refresh');
      })().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  async logout() {
    const refreshToken = this.state?.refreshToken;
    const token = this.accessToken;
    this.clear();
    this.emit('logout');
    if (refreshToken) {
      try {
        await post(LOGOUT, { refreshToken }, token);
      } catch {
        // signed out here either way; the refresh token expires on its own
      }
    }
  }

  /** Forget the session (no server call): after a refresh fails, or on logout. */
  clear() {
    clearTimeout(this.refreshTimer);
    this.state = null;
    this.storage.removeItem(STORAGE_KEY);
  }

  /** Run an operation as the user. An expired session signs out (listeners hear 'logout'). */
  async request(query, variables = {}) {
    if (!this.state) throw new ApiError('Not signed in.', 'UNAUTHENTICATED');
    if (this.expiresSoon(5_000)) await this.refreshOrSignOut();
    try {
      return await post(query, variables, this.accessToken);
    } catch (error) {
      if (error.code !== 'UNAUTHENTICATED' || !this.state) throw error;
      await this.refreshOrSignOut();
      return post(query, variables, this.accessToken);
    }
  }

  async refreshOrSignOut() {
    try {
      await this.refresh();
    } catch (error) {
      if (error.code === 'NETWORK') throw error; // offline is not signed out
      this.clear();
      this.emit('logout');
      throw new ApiError('Your session ended. Please sign in again.', 'UNAUTHENTICATED');
    }
  }

  expiresSoon(marginMs = 0) {
    return !this.state || this.state.expiresAt - marginMs <= Date.now();
  }

  accept(auth) {
    this.state = {
      accessToken: auth.accessToken,
      refreshToken: auth.refreshToken,
      expiresAt: Date.now() + auth.expiresIn * 1000,
      user: auth.user,
    };
    this.storage.setItem(STORAGE_KEY, JSON.stringify(this.state));
    this.schedule();
  }

  /** Refresh a minute before expiry (a fifth of the lifetime for short-lived tokens). */
  schedule() {
    clearTimeout(this.refreshTimer);
    if (!this.state) return;
    const lifetime = this.state.expiresAt - Date.now();
    const lead = Math.min(60_000, lifetime * 0.2);
    this.refreshTimer = setTimeout(
      () => this.backgroundRefresh(),
      Math.max(1_000, lifetime - lead),
    );
  }

  async backgroundRefresh(attempt = 0) {
    try {
      await this.refresh();
    } catch (error) {
      if (!this.state) return;
      if (error.code === 'NETWORK' && !this.expiresSoon()) {
        // Offline for now: try again shortly, while the access token still works.
        this.refreshTimer = setTimeout(() => this.backgroundRefresh(attempt + 1), 5_000);
        return;
      }
      this.clear();
      this.emit('logout');
    }
  }
}
