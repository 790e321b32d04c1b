/* Shared by the page (app.js) and the API reference (api.js). */
'use strict';

/** h('p', {class: 'x', text: 'hi'}, child, ...): an element with attributes and children; text is never parsed as HTML. */
function h(tag, attrs = {}, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v == null) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const kid of kids) if (kid != null && kid !== '') el.append(kid);
  return el;
}
