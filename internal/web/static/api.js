// The API client. The access token lives in this module's memory only; the
// refresh token is an HttpOnly cookie the page never sees, sent only to
// /api/v1/web/session (docs/WEB.md). Nothing is kept in web storage.

let token = null;
let user = null;
let features = {}; // what this server offers (docs/API.md, browser sessions)
const watchers = new Set();

export class ApiError extends Error {
  constructor(status, errors) {
    super(errors?.[0]?.message || `HTTP ${status}`);
    this.status = status;
    this.errors = errors || [];
  }
}

export const session = {
  get user() { return user; },
  get features() { return features; },
  watch(fn) { watchers.add(fn); },
};

function setSession(s) {
  token = s?.token ?? null;
  user = s?.user ?? null;
  features = s?.features ?? {};
  for (const fn of watchers) fn(user);
}

// The cookie endpoints: same origin only, with the header a cross-site page
// cannot send without the server's permission (CSRF).
async function sessionCall(path, body) {
  const headers = { 'X-MealSync-CSRF': '1' };
  if (body) headers['Content-Type'] = 'application/json';
  const res = await fetch(`/api/v1/web/session${path}`, {
    method: 'POST', credentials: 'same-origin', headers, body: body ? JSON.stringify(body) : undefined,
  });
  const json = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, json?.errors);
  return json?.data ?? null;
}

export async function signIn(email, password) {
  setSession(await sessionCall('', { email, password }));
  return user;
}

// restore asks for a fresh access token with the cookie: after a reload, or
// when the token expired. null when there is no session.
//
// Each refresh spends the cookie's token, and a spent token used again ends
// the session (it looks stolen): tabs of this origin take turns through a
// Web Lock, so a second tab refreshes with the cookie the first one got.
export async function restore() {
  const ask = async () => {
    try {
      setSession(await sessionCall('/refresh'));
    } catch {
      setSession(null);
    }
  };
  await (navigator.locks ? navigator.locks.request('mealsync-session', ask) : ask());
  return user;
}

let refreshing = null;
function refresh() {
  refreshing ??= restore().finally(() => { refreshing = null; });
  return refreshing;
}

export async function signOut() {
  try {
    await sessionCall('/logout');
  } finally {
    setSession(null);
  }
}

export async function signOutEverywhere() {
  await api('POST', `/users/${user.id}/logout-all`);
  await signOut();
}

export function setUser(u) {
  user = u;
  for (const fn of watchers) fn(user);
}

// api calls /api/v1 + path. Writes carry an Idempotency-Key, the same one on
// the retry after a refreshed token, so a write is never applied twice. JSON
// envelopes are unwrapped to their data; pagination envelopes are returned
// whole. A FormData body goes as multipart (an upload).
export async function api(method, path, body, key = crypto.randomUUID()) {
  for (let attempt = 0; ; attempt++) {
    const headers = {};
    if (token) headers.Authorization = `Bearer ${token}`;
    const multipart = body instanceof FormData;
    if (body !== undefined && !multipart) headers['Content-Type'] = 'application/json';
    if (method !== 'GET') headers['Idempotency-Key'] = key;
    const res = await fetch(`/api/v1${path}`, {
      method, headers, body: body === undefined || multipart ? body : JSON.stringify(body), credentials: 'omit',
    });
    if (res.status === 401 && attempt === 0 && token && await refresh()) continue;
    const json = res.status === 204 ? null : await res.json().catch(() => null);
    if (!res.ok) throw new ApiError(res.status, json?.errors);
    return json && 'errors' in json ? json.data : json;
  }
}
