// The team page's "Edit agent" dialog (#agent-edit): an agent's display name
// and maximum viewers, saved with PATCH /api/agents/{id} (SPEC §14.1). The
// server checks the ranges; its message shows in the dialog.
import { api } from './api.js';
import { byId } from './dom.js';

let finish = null; // closes the open dialog with the saved profile, or null

/**
 * Opens the dialog for an agent ({id, displayName, maxViewers}) and
 * resolves with the saved profile, or null when the admin cancels. A lost
 * session or lost admin rights reject with the ApiError, for the page to
 * handle.
 */
export function editAgent(agent) {
  finish?.(null);
  const dialog = byId('agent-edit');
  const previous = document.activeElement;

  byId('agent-edit-title').textContent = `Edit ${agent.displayName}`;
  byId('agent-display-name').value = agent.displayName;
  byId('agent-max-viewers').value = String(agent.maxViewers);
  showError('');
  dialog.hidden = false;
  byId('agent-display-name').focus();

  return new Promise((resolve, reject) => {
    const close = (result, err) => {
      finish = null;
      byId('agent-edit-form').onsubmit = null;
      dialog.hidden = true;
      if (previous instanceof HTMLElement && previous.isConnected) previous.focus();
      if (err) reject(err);
      else resolve(result);
    };
    finish = (result) => close(result);
    byId('agent-edit-form').onsubmit = (event) => {
      event.preventDefault();
      save(agent, close);
    };
  });
}

/** Whether the dialog is open. */
export function isEditing() {
  return finish !== null;
}

async function save(agent, close) {
  const displayName = byId('agent-display-name').value.trim();
  const raw = byId('agent-max-viewers').value.trim();
  if (!/^\d+$/.test(raw)) {
    showError('Enter the maximum viewers as a whole number.');
    return;
  }

  const button = byId('agent-edit-save');
  button.disabled = true;
  showError('');
  try {
    const profile = await api('PATCH', `/api/agents/${encodeURIComponent(agent.id)}`,
      { displayName, maxViewers: Number(raw) });
    close(profile);
  } catch (err) {
    if (err.status === 401 || err.status === 403) close(null, err);
    else showError(err.message);
  } finally {
    button.disabled = false;
  }
}

function showError(message) {
  const box = byId('agent-edit-error');
  box.textContent = message;
  box.hidden = !message;
}

function wire() {
  const dialog = byId('agent-edit');
  byId('agent-edit-cancel').addEventListener('click', () => finish?.(null));
  dialog.addEventListener('click', (event) => {
    if (event.target === dialog) finish?.(null);
  });
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && finish) finish(null);
  });
}

wire();
