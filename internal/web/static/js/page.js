// Start-up shared by the console pages (team, API keys, call log): who is
// signed in, the sidebar, sign-out, page-level messages and the answer to a
// lost session or missing admin rights.
import { api } from './api.js';
import { byId } from './dom.js';
import { renderNav } from './nav.js';

let me = null;

/**
 * Loads the signed-in user and shows the page. It sends a visitor without a
 * session to /login and, on an admin-only page, a non-admin to /workbench;
 * then it resolves with null and the page should stop.
 */
export async function startPage({ current, adminOnly }) {
  try {
    me = await api('GET', '/api/me');
  } catch (err) {
    if (err.status === 401) {
      location.replace('/login');
      return null;
    }
    byId('shell').hidden = false;
    showError(err.message);
    return null;
  }
  if (adminOnly && me.user?.role !== 'admin') {
    location.replace('/workbench');
    return null;
  }

  byId('agent-name').textContent = me.agent?.displayName || me.user?.fullName || '';
  byId('user-email').textContent = me.user?.email || '';
  renderNav(me, current);
  byId('logout').addEventListener('click', logout);
  byId('shell').hidden = false;
  return me;
}

/** Redraws the sidebar after the signed-in user changed (e.g. became an agent). */
export function updateMe(changes, current) {
  Object.assign(me, changes);
  byId('agent-name').textContent = me.agent?.displayName || me.user?.fullName || '';
  renderNav(me, current);
}

/**
 * Handles a failed API call: a lost session goes to /login, lost admin
 * rights to the workbench, anything else shows the server's message.
 */
export function failed(err) {
  if (err.status === 401) location.replace('/login');
  else if (err.status === 403) location.replace('/workbench');
  else showError(err.message);
}

/** Shows an error above the page's content. */
export function showError(message) {
  byId('page-notice').hidden = true;
  const box = byId('page-error');
  box.textContent = message;
  box.hidden = false;
}

/** Shows a success message above the page's content, replacing any error. */
export function showNotice(message) {
  byId('page-error').hidden = true;
  const box = byId('page-notice');
  box.textContent = message;
  box.hidden = false;
}

/** Hides the page-level messages. */
export function clearMessages() {
  byId('page-error').hidden = true;
  byId('page-notice').hidden = true;
}

async function logout() {
  try {
    await api('POST', '/api/auth/logout');
  } catch (err) {
    console.debug('greeter: logout failed', err);
  }
  location.assign('/login');
}
