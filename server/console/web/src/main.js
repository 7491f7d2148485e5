// The console's shell: sign-in, the navigation the role allows, the language
// switch and a hash router (#/map?…, #/water/station-id, #/totals?year=…),
// so that every view, filters included, can be shared as a link.
import './style.css';
import * as api from './api.js';
import { h, clear } from './dom.js';
import { t, language, setLanguage } from './i18n.js';
import * as mapPage from './map.js';
import * as waterPage from './water.js';
import * as totalsPage from './totals.js';

// pages lists each page and the roles that may open it. The server checks
// every request again; this table only keeps the console from offering a
// page whose data the role may not read (officers use the field app).
const pages = [
  { id: 'map', module: mapPage, roles: ['office', 'supervisor'] },
  { id: 'water', module: waterPage, roles: ['office', 'supervisor', 'admin'] },
  { id: 'totals', module: totalsPage, roles: ['office', 'supervisor', 'admin'] },
];

const root = document.getElementById('app');
let config = {};
let unmount = null;

export function allowed(role) {
  return pages.filter((p) => p.roles.includes(role));
}

// route parses location.hash into a page, a path rest and query parameters.
export function route() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, qs] = raw.split('?');
  const [page, ...rest] = path.split('/');
  return { page, rest, params: new URLSearchParams(qs || '') };
}

// shown is the hash the current view was rendered for or last wrote.
let shown = '';

// setQuery replaces the current view's query without adding history. A
// view's late answer must not overwrite a navigation that happened since
// (the hashchange event may not have run yet), so it writes only while the
// hash is still the one it owns.
export function setQuery(params) {
  if (location.hash !== shown) return;
  const r = route();
  const qs = params.toString();
  history.replaceState(null, '', '#/' + [r.page, ...r.rest].join('/') + (qs ? '?' + qs : ''));
  shown = location.hash;
}

function header(me) {
  const r = route();
  return h(
    'header.top',
    h('span.brand', t('app.title')),
    h(
      'nav',
      allowed(me.role).map((p) =>
        h('a', { href: '#/' + p.id, class: r.page === p.id ? 'active' : null, 'data-page': p.id }, t('nav.' + p.id)),
      ),
    ),
    h('span.spacer'),
    h('span.who', me.name || me.username, ' · ', me.role),
    h('button.link#lang', { onclick: () => { setLanguage(language() === 'en' ? 'zh' : 'en'); render(); } }, t('lang.switch')),
    h('button.link#logout', { onclick: async () => { await api.logout(); location.hash = '#/login'; } }, t('nav.logout')),
  );
}

function loginPage() {
  const msg = h('p.error', { role: 'alert' });
  const u = h('input#username', { name: 'username', autocomplete: 'username', required: true });
  const p = h('input#password', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const form = h(
    'form.login',
    {
      onsubmit: async (e) => {
        e.preventDefault();
        msg.textContent = '';
        try {
          const me = await api.login(u.value.trim(), p.value);
          const first = allowed(me.role)[0];
          location.hash = '#/' + (first ? first.id : 'denied');
        } catch (err) {
          msg.textContent = t('login.failed') + ': ' + err.message;
        }
      },
    },
    h('h1', t('app.title')),
    h('label', t('login.username'), u),
    h('label', t('login.password'), p),
    h('button#login', { type: 'submit' }, t('login.submit')),
    msg,
    h('button.link', { type: 'button', onclick: () => { setLanguage(language() === 'en' ? 'zh' : 'en'); render(); } }, t('lang.switch')),
  );
  clear(root, h('main.center', form));
  u.focus();
}

function render() {
  if (unmount) {
    unmount();
    unmount = null;
  }
  document.title = t('app.title');
  const me = api.user();
  const r = route();
  if (!me) {
    loginPage();
    return;
  }
  if (r.page === 'login' || r.page === '') {
    const first = allowed(me.role)[0];
    location.replace('#/' + (first ? first.id : 'denied'));
    return;
  }
  shown = location.hash;
  const page = pages.find((p) => p.id === r.page);
  const body = h('main.page');
  clear(root, header(me), body);
  if (!page || !page.roles.includes(me.role)) {
    clear(body, h('section.denied#denied', h('h1', t('denied.title')), h('p', allowed(me.role).length ? t('denied.page') : t('denied.text'))));
    return;
  }
  unmount = page.module.mount(body, { route: r, config, setQuery, me }) || null;
}

api.setSignedOut(() => {
  location.hash = '#/login';
  render();
});

window.addEventListener('hashchange', () => {
  // A query change made by the page itself (setQuery) does not re-render.
  render();
});

(async () => {
  try {
    config = await (await fetch('/console/config.json')).json();
  } catch {
    config = {};
  }
  render();
})();
