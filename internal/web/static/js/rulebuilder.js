// The routing-rule builder of the pools page: a name, condition rows (type ×
// match × value, plus a parameter name for query parameters), a priority and
// the active switch, with a live plain-language preview (SPEC §7.1, §14.2).
// The builder edits a draft object, so that the page can redraw around it
// without losing what the admin typed.
import { el } from './dom.js';

export const MAX_CONDITIONS = 10;
const MAX_NAME = 80;
const MAX_VALUE = 500;
const MAX_PARAM = 100;
const MIN_PRIORITY = -1000;
const MAX_PRIORITY = 1000;

const TYPE_LABELS = { domain: 'Domain', path: 'Path', query_param: 'Query parameter' };
const MATCH_LABELS = {
  is_exactly: 'is exactly',
  contains: 'contains',
  does_not_contain: 'does not contain',
  starts_with: 'starts with',
  ends_with: 'ends with',
};

/** A draft for a new rule of the pool, or for editing rule when given. */
export function newDraft(poolId, rule) {
  if (!rule) {
    return { poolId, ruleId: null, name: '', priority: '0', active: true,
      conditions: [blankCondition()] };
  }
  return {
    poolId,
    ruleId: rule.id,
    name: rule.name,
    priority: String(rule.priority),
    active: rule.active,
    conditions: rule.conditions.map((c) => ({
      type: c.type, match: c.match, value: c.value, param: c.param || '',
    })),
  };
}

function blankCondition() {
  return { type: 'path', match: 'starts_with', value: '', param: '' };
}

/**
 * Describes conditions as one sentence, e.g. 'Path starts with “/pricing” and
 * query parameter utm_source is exactly “ads”'. Missing values show as "…".
 */
export function describeConditions(conditions) {
  return conditions.map((c, i) => describeCondition(c, i === 0)).join(' and ');
}

function describeCondition(c, first) {
  let subject = c.type === 'query_param'
    ? `query parameter ${(c.param || '').trim() || '…'}`
    : (TYPE_LABELS[c.type] || c.type).toLowerCase();
  if (first) subject = subject.charAt(0).toUpperCase() + subject.slice(1);
  const value = (c.value || '').trim() || '…';
  return `${subject} ${MATCH_LABELS[c.match] || c.match} “${value}”`;
}

/**
 * Checks a draft before it is sent and returns the first problem in words,
 * or '' when the server should see it. The server checks again.
 */
export function draftProblem(draft) {
  const name = draft.name.trim();
  if (name.length < 1 || name.length > MAX_NAME) {
    return 'Give the rule a name of 1 to 80 characters.';
  }
  const priority = Number(draft.priority);
  if (draft.priority.trim() === '' || !Number.isInteger(priority) ||
      priority < MIN_PRIORITY || priority > MAX_PRIORITY) {
    return 'The priority must be a whole number from −1000 to 1000.';
  }
  for (const [i, c] of draft.conditions.entries()) {
    const n = i + 1;
    if (c.type === 'query_param' && !c.param.trim()) {
      return `Condition ${n}: enter the name of the query parameter.`;
    }
    if (c.param.trim().length > MAX_PARAM) {
      return `Condition ${n}: the parameter name is longer than 100 characters.`;
    }
    if (!c.value.trim()) return `Condition ${n}: enter a value to compare with.`;
    if (c.value.trim().length > MAX_VALUE) {
      return `Condition ${n}: the value is longer than 500 characters.`;
    }
  }
  return '';
}

/** The body of POST /api/pools/{id}/rules or PATCH /api/rules/{id}. */
export function draftBody(draft) {
  return {
    name: draft.name.trim(),
    priority: Number(draft.priority),
    active: draft.active,
    conditions: draft.conditions.map((c) => {
      const out = { type: c.type, match: c.match, value: c.value.trim() };
      if (c.type === 'query_param') out.param = c.param.trim();
      return out;
    }),
  };
}

/**
 * Builds the editor form for draft. onSave(draft) and onCancel() are called
 * on submit and on Cancel (or Escape); the form's [data-error] paragraph is
 * for the caller's error messages.
 */
export function ruleEditor(draft, { poolName, onSave, onCancel }) {
  const key = `${draft.poolId}:${draft.ruleId || 'new'}`;
  const title = draft.ruleId ? `Edit the rule “${draft.name}”` : `New rule for ${poolName}`;
  const preview = el('p', { className: 'rule-preview-text', 'aria-live': 'polite',
    'data-role': 'preview' });
  const rows = el('ol', { className: 'cond-rows' });
  const error = el('p', { className: 'form-error', hidden: true, 'data-error': 'rule' });
  error.setAttribute('role', 'alert');

  const addButton = el('button', { type: 'button', className: 'btn btn-small',
    textContent: 'Add condition', 'data-action': 'add-condition', 'data-key': `add:${key}` });
  const showPreview = () => {
    preview.textContent = describeConditions(draft.conditions);
  };
  const drawRows = (focusRow = -1) => {
    rows.replaceChildren(...draft.conditions.map((c, i) =>
      conditionRow(draft, i, key, { changed: showPreview, removed: removeRow })));
    addButton.disabled = draft.conditions.length >= MAX_CONDITIONS;
    showPreview();
    if (focusRow >= 0) rows.children[focusRow]?.querySelector('select')?.focus();
  };
  const removeRow = (i) => {
    draft.conditions.splice(i, 1);
    drawRows();
    addButton.focus();
  };
  addButton.addEventListener('click', () => {
    if (draft.conditions.length >= MAX_CONDITIONS) return;
    draft.conditions.push(blankCondition());
    drawRows(draft.conditions.length - 1);
  });

  const cancel = el('button', { type: 'button', className: 'btn', textContent: 'Cancel',
    'data-action': 'cancel-rule' });
  cancel.addEventListener('click', onCancel);

  const form = el('form', { className: 'rule-editor', noValidate: true,
    'aria-label': title, 'data-rule-editor': draft.ruleId || 'new' },
  el('h4', { textContent: title }),
  el('div', { className: 'inline-form' },
    textField('Name', draft, 'name', { maxLength: MAX_NAME, key: `name:${key}`,
      placeholder: 'Pricing pages', className: 'grow' }),
    textField('Priority', draft, 'priority', { type: 'number', key: `priority:${key}`,
      min: MIN_PRIORITY, max: MAX_PRIORITY, step: 1, className: 'rule-priority' }),
    activeSwitch(draft, key)),
  el('p', { className: 'hint', textContent: 'Rules with a higher priority are tried ' +
    'first (−1000 to 1000). A page must meet every condition.' }),
  el('fieldset', { className: 'cond-set' },
    el('legend', { textContent: 'Conditions' }), rows, addButton),
  el('div', { className: 'rule-preview' },
    el('span', { className: 'rule-preview-label', textContent: 'Preview' }), preview),
  error,
  el('div', { className: 'rule-editor-actions' },
    el('button', { type: 'submit', className: 'btn btn-primary', 'data-action': 'save-rule',
      textContent: draft.ruleId ? 'Save rule' : 'Add rule', 'data-key': `save:${key}` }),
    cancel));

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    onSave(draft, error);
  });
  form.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !document.querySelector('#confirm:not([hidden])')) onCancel();
  });
  drawRows();
  return form;
}

function textField(label, draft, field, opts) {
  const input = el('input', {
    type: opts.type || 'text',
    value: draft[field],
    maxLength: opts.maxLength,
    min: opts.min,
    max: opts.max,
    step: opts.step,
    placeholder: opts.placeholder || '',
    required: true,
    'data-field': field,
    'data-key': opts.key,
  });
  input.addEventListener('input', () => (draft[field] = input.value));
  return el('label', { className: opts.className || '' }, label, input);
}

function activeSwitch(draft, key) {
  const box = el('input', { type: 'checkbox', checked: draft.active, 'data-field': 'active',
    'data-key': `active:${key}` });
  box.addEventListener('change', () => (draft.active = box.checked));
  return el('label', { className: 'check' }, box, 'Active');
}

// conditionRow draws one condition: type, parameter name (query parameters
// only), match and value. Every field writes straight into the draft.
function conditionRow(draft, i, key, { changed, removed }) {
  const c = draft.conditions[i];
  const n = i + 1;
  const type = choice(`Condition ${n}: what to test`, TYPE_LABELS, c.type, `type:${key}:${i}`);
  const match = choice(`Condition ${n}: how to compare`, MATCH_LABELS, c.match,
    `match:${key}:${i}`);
  const param = el('input', { type: 'text', value: c.param, maxLength: MAX_PARAM,
    placeholder: 'utm_source', 'aria-label': `Condition ${n}: parameter name`,
    className: 'cond-param', 'data-field': 'param', 'data-key': `param:${key}:${i}` });
  const value = el('input', { type: 'text', value: c.value, maxLength: MAX_VALUE,
    placeholder: placeholderOf(c.type), 'aria-label': `Condition ${n}: value`,
    className: 'cond-value', 'data-field': 'value', 'data-key': `value:${key}:${i}` });
  const remove = el('button', { type: 'button', className: 'btn btn-small btn-quiet',
    textContent: 'Remove', 'aria-label': `Remove condition ${n}`, 'data-action': 'remove-condition',
    disabled: draft.conditions.length <= 1 });

  param.hidden = c.type !== 'query_param';
  type.addEventListener('change', () => {
    c.type = type.value;
    param.hidden = c.type !== 'query_param';
    value.placeholder = placeholderOf(c.type);
    changed();
  });
  match.addEventListener('change', () => {
    c.match = match.value;
    changed();
  });
  param.addEventListener('input', () => {
    c.param = param.value;
    changed();
  });
  value.addEventListener('input', () => {
    c.value = value.value;
    changed();
  });
  remove.addEventListener('click', () => removed(i));

  return el('li', { className: 'cond-row', 'data-condition': String(i) },
    el('span', { className: 'cond-joiner', 'aria-hidden': 'true', textContent: i ? 'and' : 'If' }),
    type, param, match, value, remove);
}

function choice(label, labels, current, key) {
  return el('select', { 'aria-label': label, 'data-key': key },
    ...Object.entries(labels).map(([value, text]) =>
      el('option', { value, textContent: text, selected: value === current })));
}

function placeholderOf(type) {
  if (type === 'domain') return 'shop.example.com';
  if (type === 'path') return '/pricing';
  return 'ads';
}
