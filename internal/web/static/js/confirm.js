// The console's confirmation dialog (#confirm): one question at a time,
// answered with the confirm button, Cancel, Escape or a click beside it.
import { byId } from './dom.js';

let answer = null; // resolves the open question

/**
 * Asks the user to confirm an action and resolves with true or false.
 * warning, when given, is shown highlighted (e.g. "… is on a call right now").
 */
export function confirmAction({ title, text, warning = '', confirmLabel = 'Confirm' }) {
  const dialog = byId('confirm');
  const previous = document.activeElement;
  answer?.(false);

  byId('confirm-title').textContent = title;
  byId('confirm-text').textContent = text;
  const box = byId('confirm-warning');
  box.textContent = warning;
  box.hidden = !warning;
  byId('confirm-ok').textContent = confirmLabel;
  dialog.hidden = false;
  byId('confirm-cancel').focus();

  return new Promise((resolve) => {
    answer = (ok) => {
      answer = null;
      dialog.hidden = true;
      if (previous instanceof HTMLElement && previous.isConnected) previous.focus();
      resolve(ok);
    };
  });
}

/** Whether a question is open (the team page pauses its redraws meanwhile). */
export function isAsking() {
  return answer !== null;
}

function wire() {
  const dialog = byId('confirm');
  byId('confirm-ok').addEventListener('click', () => answer?.(true));
  byId('confirm-cancel').addEventListener('click', () => answer?.(false));
  dialog.addEventListener('click', (event) => {
    if (event.target === dialog) answer?.(false);
  });
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && answer) answer(false);
  });
}

wire();
