// A tiny DOM builder: every text goes in as a text node, never as HTML, so
// nothing the API returns can inject markup or script.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value' || k === 'checked') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  add(el, children);
  return el;
}

function add(el, children) {
  for (const c of children) {
    if (c == null || c === false) continue;
    if (Array.isArray(c)) add(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// field is a labelled input: the label names it for screen readers.
let fieldSeq = 0;
export function field(label, attrs, hint) {
  const { tag, options, ...rest } = attrs;
  const id = rest.id || `f${++fieldSeq}`;
  const hintId = hint ? `${id}-hint` : null;
  const input = tag
    ? h(tag, { ...rest, id, 'aria-describedby': hintId }, options || [])
    : h('input', { type: 'text', ...rest, id, 'aria-describedby': hintId });
  return h('div', { class: 'field' }, h('label', { for: id }, label), input,
    hint ? h('small', { id: hintId }, hint) : null);
}

export function formData(form) {
  return Object.fromEntries(new FormData(form).entries());
}

// errorBox shows an API error (its field messages) where a form is.
export function errorBox(err) {
  const lines = err?.errors?.length ? err.errors.map((e) => e.message) : [err?.message || 'Something went wrong'];
  return h('div', { class: 'error', role: 'alert' }, lines.map((l) => h('p', null, l)));
}
