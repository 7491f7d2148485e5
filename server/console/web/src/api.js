// The API client: the session's tokens, bearer requests with one refresh on
// an expired access token, and problem+json errors as ApiError.
const base = '/api/v1';
const key = 'baoshui.session';

// ApiError carries the RFC 9457 problem the server answered with.
export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

let session = (() => {
  try {
    return JSON.parse(sessionStorage.getItem(key)) || null;
  } catch {
    return null;
  }
})();

function save(s) {
  session = s;
  if (s) sessionStorage.setItem(key, JSON.stringify(s));
  else sessionStorage.removeItem(key);
}

// user is the signed-in account ({username, name, role, unit}) or null.
export function user() {
  return session && session.user;
}

async function problem(res) {
  try {
    return await res.json();
  } catch {
    return null;
  }
}

// login signs in and loads the account; it throws ApiError on refusal.
export async function login(username, password) {
  const res = await fetch(base + '/auth/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (!res.ok) throw new ApiError(res.status, await problem(res));
  const tok = await res.json();
  save({ access: tok.access_token, refresh: tok.refresh_token, user: null });
  const me = await get('/me');
  save({ ...session, user: me });
  return me;
}

// logout revokes the refresh token and forgets the session, even when the
// server cannot be reached.
export async function logout() {
  const s = session;
  save(null);
  if (s && s.refresh) {
    try {
      await fetch(base + '/auth/logout', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refresh_token: s.refresh }),
      });
    } catch {
      /* the token expires by itself */
    }
  }
}

let refreshing = null;

async function refresh() {
  if (!session || !session.refresh) return false;
  refreshing ??= (async () => {
    const res = await fetch(base + '/auth/refresh', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ refresh_token: session.refresh }),
    });
    if (!res.ok) return false;
    const tok = await res.json();
    save({ ...session, access: tok.access_token, refresh: tok.refresh_token });
    return true;
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

// onSignedOut is called when the session can no longer be refreshed.
export let onSignedOut = () => {};
export function setSignedOut(f) {
  onSignedOut = f;
}

// request sends an authenticated request and returns the Response; it
// refreshes the access token once on 401.
export async function request(path, opts = {}) {
  const send = () =>
    fetch(base + path, { ...opts, headers: { ...(opts.headers || {}), Authorization: 'Bearer ' + (session && session.access) } });
  let res = await send();
  if (res.status === 401 && (await refresh())) res = await send();
  if (res.status === 401) {
    save(null);
    onSignedOut();
  }
  if (!res.ok) throw new ApiError(res.status, await problem(res));
  return res;
}

// get returns the JSON of path with query parameters q (empty values left out).
export async function get(path, q) {
  return (await request(path + query(q))).json();
}

export async function post(path, body) {
  return (
    await request(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body || {}) })
  ).json();
}

export function query(q) {
  if (!q) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v == null || v === '' || (Array.isArray(v) && v.length === 0)) continue;
    p.set(k, Array.isArray(v) ? v.join(',') : String(v));
  }
  const s = p.toString();
  return s ? '?' + s : '';
}

// objectURL fetches an authenticated binary (a photo) as a blob: URL.
export async function objectURL(path) {
  const res = await request(path);
  return URL.createObjectURL(await res.blob());
}

// download fetches path and saves it under the file name the server gives.
export async function download(path, fallbackName) {
  const res = await request(path);
  const cd = res.headers.get('Content-Disposition') || '';
  const m = /filename\*=UTF-8''([^;]+)|filename="?([^";]+)"?/i.exec(cd);
  const name = m ? decodeURIComponent(m[1] || m[2]) : fallbackName;
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
