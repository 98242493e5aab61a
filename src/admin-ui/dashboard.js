// Switchboard's admin dashboard: plain DOM, no framework, no build step. Everything shown
// that came from a client (ids, principals, groups, user agents) goes in as text nodes, never
// as HTML; the page's Content-Security-Policy forbids inline script as a second line.
'use strict';

const TOKEN_KEY = 'switchboard-admin-token';
const POLL_MS = 1500;

const $ = (id) => document.getElementById(id);

/** Builds an element; string children become text nodes (never parsed as HTML). */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (k === 'onclick') node.addEventListener('click', v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

// The token: from `#token=…` (a fragment never reaches a server or its logs), else sessionStorage.
let token = sessionStorage.getItem(TOKEN_KEY);
const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
if (fromHash) {
  token = fromHash;
  sessionStorage.setItem(TOKEN_KEY, token);
  history.replaceState(null, '', location.pathname + location.search);
}

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** One admin API call; answers parsed JSON (or null), throws ApiError with the gateway's message. */
async function api(method, path, query, body) {
  const qs = query ? new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined && v !== '')).toString() : '';
  const res = await fetch(`api/${path}${qs ? `?${qs}` : ''}`, { method, headers: { authorization: `Bearer ${token}` }, body, cache: 'no-store' });
  const text = await res.text();
  if (res.status === 401) {
    signOut('The admin token was refused (401). Enter the token from admin.token.');
    throw new ApiError(401, 'Unauthorized');
  }
  if (!res.ok) {
    let message = '';
    try {
      message = JSON.parse(text).message ?? '';
    } catch {
      message = text.slice(0, 200);
    }
    if (res.status === 410) message = 'Gone: not open any more';
    throw new ApiError(res.status, `${res.headers.get('x-amzn-errortype') ?? 'Error'} (${res.status})${message ? `: ${message}` : ''}`);
  }
  return text ? JSON.parse(text) : null;
}

const seg = (s) => encodeURIComponent(s);

function showError(message) {
  const e = $('error');
  e.textContent = message;
  e.hidden = !message;
}

function notice(message) {
  $('notice').textContent = message;
}

/** Runs an action, reporting its failure in the alert line (401s already signed out). */
async function attempt(action) {
  try {
    showError('');
    await action();
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) showError(err.message);
  }
}

// --- signing in and out -------------------------------------------------------------

let pollTimer;

function signOut(message) {
  token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  clearInterval(pollTimer);
  $('app').hidden = true;
  $('sign-out').hidden = true;
  $('login').hidden = false;
  $('connections').tBodies[0].replaceChildren();
  for (const id of ['stat-connections', 'stat-in', 'stat-out']) $(id).textContent = '–';
  showError(message ?? '');
  notice('');
}

function signIn() {
  $('login').hidden = true;
  $('app').hidden = false;
  $('sign-out').hidden = false;
  lastStats = undefined;
  poll();
  pollTimer = setInterval(poll, POLL_MS);
  loadPage(undefined);
}

$('login').addEventListener('submit', (e) => {
  e.preventDefault();
  token = $('token').value.trim();
  $('token').value = '';
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  showError('');
  signIn();
});
$('sign-out').addEventListener('click', () => signOut(''));

// --- live numbers -----------------------------------------------------------------------

let lastStats;

async function poll() {
  let s;
  try {
    s = await api('GET', 'stats');
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) $('stat-connections').textContent = '?';
    return;
  }
  if (!token) return;
  $('stat-connections').textContent = String(s.connections);
  if (lastStats && s.at > lastStats.at) {
    const secs = (s.at - lastStats.at) / 1000;
    $('stat-in').textContent = ((s.messagesIn - lastStats.messagesIn) / secs).toFixed(1);
    $('stat-out').textContent = ((s.messagesOut - lastStats.messagesOut) / secs).toFixed(1);
  }
  // A connection came or went: show the current page again (cheap; the list is paged).
  if (lastStats && s.connections !== lastStats.connections) loadPage(cursors[cursors.length - 1], true);
  lastStats = s;
}

// --- the connection table ---------------------------------------------------------------

/** Cursors of the pages shown so far: the last is the current page's (undefined: the first page). */
let cursors = [undefined];
let nextToken;

function time(iso) {
  const d = new Date(iso);
  return el('time', { datetime: iso, title: iso }, d.toLocaleString());
}

function connectionRow(c) {
  return el(
    'tr',
    { 'data-connection-id': c.connectionId },
    el('td', {}, el('button', { type: 'button', class: 'link', 'aria-label': `Connection ${c.connectionId}`, onclick: () => attempt(() => showConnection(c.connectionId)) }, c.connectionId)),
    el('td', {}, c.principalId === null ? '' : el('button', { type: 'button', class: 'link', 'aria-label': `Principal ${c.principalId}`, onclick: () => attempt(() => showPrincipal(c.principalId)) }, c.principalId)),
    el('td', {}, ...c.groups.map((g) => el('button', { type: 'button', class: 'link tag', 'aria-label': `Group ${g}`, onclick: () => attempt(() => showGroup(g)) }, g))),
    el('td', {}, c.identity.sourceIp),
    el('td', { class: 'ua' }, c.identity.userAgent ?? ''),
    el('td', {}, time(c.connectedAt)),
    el('td', {}, time(c.lastActiveAt)),
  );
}

function filters() {
  return { search: $('search').value.trim(), principal: $('filter-principal').value.trim(), group: $('filter-group').value.trim(), limit: $('page-size').value };
}

let loading = 0;

/** Shows the page that starts at `cursor`; `quiet` keeps failures out of the alert line (background refreshes). */
async function loadPage(cursor, quiet = false) {
  const mine = ++loading;
  let page;
  try {
    page = await api('GET', 'connections', { ...filters(), nextToken: cursor });
  } catch (err) {
    if (!quiet && !(err instanceof ApiError && err.status === 401)) showError(err.message);
    return;
  }
  if (mine !== loading || !token) return; // a newer load or a sign-out overtook this one
  $('connections').tBodies[0].replaceChildren(...page.items.map(connectionRow));
  nextToken = page.nextToken;
  $('next-page').disabled = nextToken === undefined;
  $('prev-page').disabled = cursors.length < 2;
  $('page-info').textContent = `page ${cursors.length}, ${page.items.length} shown`;
}

$('filter').addEventListener('submit', (e) => {
  e.preventDefault();
  showError('');
  cursors = [undefined];
  loadPage(undefined);
});
$('next-page').addEventListener('click', () => {
  if (nextToken === undefined) return;
  cursors.push(nextToken);
  loadPage(nextToken);
});
$('prev-page').addEventListener('click', () => {
  if (cursors.length < 2) return;
  cursors.pop();
  loadPage(cursors[cursors.length - 1]);
});
$('refresh').addEventListener('click', () => loadPage(cursors[cursors.length - 1]));

// --- details: one connection, a principal, a group --------------------------------------------

/** What the detail panel is about: its send and close calls, and how to show it again. */
let subject;

function field(name, ...value) {
  return [el('dt', {}, name), el('dd', {}, ...value)];
}

function openDetail(s, title, fields, members) {
  subject = s;
  $('detail-title').textContent = title;
  $('detail-fields').replaceChildren(...fields);
  $('detail-members').replaceChildren(...(members ?? []));
  $('detail-send-button').textContent = s.sendLabel;
  $('detail-close-button').textContent = s.closeLabel;
  $('detail-join').hidden = s.kind !== 'connection';
  $('detail').hidden = false;
  $('detail').scrollIntoView({ block: 'nearest' });
}

function membersTable(items, extra) {
  if (items.length === 0) return [el('p', {}, 'No open connections.')];
  return [
    el(
      'table',
      { 'aria-label': 'Members' },
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Id'), el('th', { scope: 'col' }, 'Source IP'), el('th', { scope: 'col' }, 'User agent'), el('th', { scope: 'col' }, ''))),
      el(
        'tbody',
        {},
        ...items.map((c) =>
          el(
            'tr',
            {},
            el('td', {}, el('button', { type: 'button', class: 'link', 'aria-label': `Connection ${c.connectionId}`, onclick: () => attempt(() => showConnection(c.connectionId)) }, c.connectionId)),
            el('td', {}, c.identity.sourceIp),
            el('td', { class: 'ua' }, c.identity.userAgent ?? ''),
            el('td', {}, extra ? extra(c) : ''),
          ),
        ),
      ),
    ),
  ];
}

async function showConnection(id) {
  // The listing carries principal and groups; GetConnection alone does not.
  const page = await api('GET', 'connections', { search: id, limit: '100' });
  const c = page.items.find((i) => i.connectionId === id) ?? { connectionId: id, ...(await api('GET', `connections/${seg(id)}`)), principalId: null, groups: [] };
  openDetail(
    { kind: 'connection', path: `connections/${seg(id)}`, sendLabel: 'Send to connection', closeLabel: 'Close connection', again: () => showConnection(id), id },
    `Connection ${id}`,
    [
      ...field('Id', id),
      ...field('Principal', c.principalId === null ? '(none)' : el('button', { type: 'button', class: 'link', onclick: () => attempt(() => showPrincipal(c.principalId)) }, c.principalId)),
      ...field(
        'Groups',
        ...(c.groups.length === 0 ? ['(none)'] : c.groups.flatMap((g) => [
          el('button', { type: 'button', class: 'link tag', onclick: () => attempt(() => showGroup(g)) }, g),
          el('button', { type: 'button', class: 'small', 'aria-label': `Leave group ${g}`, onclick: () => attempt(() => leave(g, id)) }, 'leave'),
        ])),
      ),
      ...field('Source IP', c.identity.sourceIp),
      ...field('User agent', c.identity.userAgent ?? '(none)'),
      ...field('Connected', time(c.connectedAt)),
      ...field('Last active', time(c.lastActiveAt)),
    ],
  );
}

async function showPrincipal(p) {
  const page = await api('GET', `principals/${seg(p)}/connections`, { limit: '100' });
  openDetail(
    { kind: 'principal', path: `principals/${seg(p)}`, sendLabel: 'Send to principal', closeLabel: 'Close all of the principal', again: () => showPrincipal(p) },
    `Principal ${p}`,
    [...field('Open connections', String(page.items.length) + (page.nextToken ? '+' : ''))],
    membersTable(page.items),
  );
}

async function showGroup(g) {
  const page = await api('GET', `groups/${seg(g)}/connections`, { limit: '100' });
  openDetail(
    { kind: 'group', path: `groups/${seg(g)}`, sendLabel: 'Send to group', closeLabel: 'Close all of the group', again: () => showGroup(g) },
    `Group ${g}`,
    [...field('Members', String(page.items.length) + (page.nextToken ? '+' : ''))],
    membersTable(page.items, (c) => el('button', { type: 'button', class: 'small', 'aria-label': `Remove ${c.connectionId} from ${g}`, onclick: () => attempt(() => leave(g, c.connectionId)) }, 'remove')),
  );
}

async function leave(group, id) {
  await api('DELETE', `groups/${seg(group)}/connections/${seg(id)}`);
  notice(`${id} left ${group}`);
  await subject?.again();
  await loadPage(cursors[cursors.length - 1], true);
}

/** "sent to 2, 1 failed (gone)" for a fan-out answer. */
function sendSummary(r) {
  if (!r) return 'sent';
  const failed = r.failed.length ? `, ${r.failed.length} not sent (${[...new Set(r.failed.map((f) => f.reason))].join(', ')})` : '';
  return `sent to ${r.sent}${failed}`;
}

$('detail-send').addEventListener('submit', (e) => {
  e.preventDefault();
  const s = subject;
  attempt(async () => {
    const r = await api('POST', s.path, undefined, $('detail-message').value);
    notice(s.kind === 'connection' ? `sent to ${s.id}` : sendSummary(r));
  });
});

$('detail-close').addEventListener('submit', (e) => {
  e.preventDefault();
  const s = subject;
  attempt(async () => {
    const code = $('detail-code').value;
    const reason = $('detail-reason').value;
    const r = await api('DELETE', s.path, { code, reason });
    notice(s.kind === 'connection' ? `closed ${s.id} with ${code}` : `closed ${r.closed} with ${code}`);
    if (s.kind === 'connection') $('detail').hidden = true;
    else await s.again();
    await loadPage(cursors[cursors.length - 1], true);
  });
});

$('detail-join').addEventListener('submit', (e) => {
  e.preventDefault();
  const s = subject;
  const group = $('detail-group').value.trim();
  attempt(async () => {
    await api('PUT', `groups/${seg(group)}/connections/${seg(s.id)}`);
    notice(`${s.id} joined ${group}`);
    $('detail-group').value = '';
    await s.again();
    await loadPage(cursors[cursors.length - 1], true);
  });
});

$('detail-dismiss').addEventListener('click', () => {
  $('detail').hidden = true;
  subject = undefined;
});

$('broadcast').addEventListener('submit', (e) => {
  e.preventDefault();
  attempt(async () => {
    const r = await api('POST', 'broadcast', undefined, $('broadcast-message').value);
    notice(`broadcast ${sendSummary(r)}`);
  });
});

if (token) signIn();
else signOut('');
