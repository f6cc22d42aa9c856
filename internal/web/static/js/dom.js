// Small DOM and formatting helpers shared by the dashboard pages.

/** Returns the element with the given id; throws when the page lacks it. */
export function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el;
}

/** Shows or hides an element through its hidden attribute. */
export function setVisible(el, visible) {
  el.hidden = !visible;
}

/** Formats whole seconds as m:ss, or h:mm:ss from one hour on. */
export function formatDuration(totalSeconds) {
  const s = Math.max(0, Math.floor(totalSeconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

/** Turns an ISO 3166-1 alpha-2 code into its flag emoji ("" when invalid). */
export function flagOf(country) {
  if (!/^[A-Za-z]{2}$/.test(country || '')) return '';
  const base = 0x1f1e6 - 'A'.charCodeAt(0);
  const up = country.toUpperCase();
  return String.fromCodePoint(base + up.charCodeAt(0), base + up.charCodeAt(1));
}

/** Promise that resolves after ms milliseconds. */
export function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Creates an element. attrs sets properties (className, textContent, ...),
 * except data-* and aria-* names, which become attributes; children are nodes
 * or strings. Text always goes in as text, never as HTML.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null) continue;
    if (name.startsWith('data-') || name.startsWith('aria-')) node.setAttribute(name, value);
    else node[name] = value;
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

/** Formats an RFC 3339 time in the browser's locale and time zone ("" when missing). */
export function formatDateTime(iso) {
  if (!iso) return '';
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return '';
  return t.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}
