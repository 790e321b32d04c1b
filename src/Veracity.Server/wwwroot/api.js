/* Veracity API reference — renders openapi/v1.json (OpenAPI 3.x) without dependencies. */
'use strict';
(() => {
  const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];
  const MAX_DEPTH = 6;
  const out = document.getElementById('spec');
  const status = document.getElementById('spec-status');
  let doc = {};

  const slug = (s) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  const refName = (ref) => decodeURIComponent(String(ref).split('/').pop());

  // Resolve local "#/..." references (schemas, parameters, responses, requestBodies).
  function deref(obj) {
    let guard = 0;
    while (obj && typeof obj === 'object' && typeof obj.$ref === 'string' && obj.$ref.startsWith('#/') && guard++ < 10) {
      let target = doc;
      for (const part of obj.$ref.slice(2).split('/')) target = target && target[part.replace(/~1/g, '/').replace(/~0/g, '~')];
      if (!target) return {};
      obj = target;
    }
    return obj || {};
  }

  function typeLabel(s, depth = 0) {
    if (!s || typeof s !== 'object') return 'any';
    if (depth > MAX_DEPTH) return '…';
    if (s.$ref) return refName(s.$ref);
    const comp = s.oneOf || s.anyOf;
    if (comp) return comp.map((x) => typeLabel(x, depth + 1)).join(' | ');
    if (s.allOf) return s.allOf.map((x) => typeLabel(x, depth + 1)).join(' & ');
    const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [s.properties ? 'object' : 'any'];
    let t = types.map((ty) => {
      if (ty === 'array') return `array of ${typeLabel(s.items, depth + 1)}`;
      if (ty === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object') {
        return `map of ${typeLabel(s.additionalProperties, depth + 1)}`;
      }
      return ty;
    }).join(' | ');
    if (s.format) t += ` (${s.format})`;
    if (Array.isArray(s.enum)) t += ` — one of ${s.enum.map((v) => JSON.stringify(v)).join(', ')}`;
    if (s.default !== undefined) t += ` = ${JSON.stringify(s.default)}`;
    return t;
  }

  // Nested list of "property: type" for object-ish schemas; null when there is nothing to expand.
  function schemaTree(schema, depth = 0, stack = []) {
    if (!schema || typeof schema !== 'object') return null;
    const name = schema.$ref ? refName(schema.$ref) : null;
    if (name && stack.includes(name)) return h('p', { class: 'muted small', text: `(recursive: ${name})` });
    if (depth > MAX_DEPTH) return h('p', { class: 'muted small', text: '(nested too deep)' });
    const s = deref(schema);
    const next = name ? [...stack, name] : stack;
    const comp = s.allOf || s.oneOf || s.anyOf;
    if (comp) {
      const ul = h('ul', { class: 'schema' });
      for (const sub of comp) {
        const subTree = schemaTree(sub, depth + 1, next);
        if (subTree) ul.append(h('li', {}, h('span', { class: 'type', text: typeLabel(sub) }), subTree));
      }
      return ul.children.length ? ul : null;
    }
    if (s.properties && typeof s.properties === 'object') {
      const req = new Set(s.required || []);
      const ul = h('ul', { class: 'schema' });
      for (const [prop, ps] of Object.entries(s.properties)) {
        const resolved = deref(ps);
        const li = h('li', {}, h('code', { text: prop }), ': ', h('span', { class: 'type', text: typeLabel(ps) }),
          req.has(prop) ? h('span', { class: 'req', text: ' (required)' }) : null,
          resolved.description ? h('span', { class: 'muted', text: ` — ${resolved.description}` }) : null);
        const sub = schemaTree(ps, depth + 1, next);
        if (sub) li.append(sub);
        ul.append(li);
      }
      return ul;
    }
    if (s.items) return schemaTree(s.items, depth + 1, next);
    if (s.additionalProperties && typeof s.additionalProperties === 'object') return schemaTree(s.additionalProperties, depth + 1, next);
    return null;
  }

  function schemaBlock(schema) {
    if (!schema) return null;
    return h('div', {}, h('span', { class: 'type', text: typeLabel(schema) }), schemaTree(schema));
  }

  function contentList(content) {
    if (!content || !Object.keys(content).length) return null;
    const ul = h('ul', { class: 'schema' });
    for (const [type, media] of Object.entries(content)) {
      ul.append(h('li', {}, h('code', { text: type }), media && media.schema ? schemaBlock(media.schema) : null));
    }
    return ul;
  }

  function paramsTable(params) {
    const table = h('table', {},
      h('thead', {}, h('tr', {}, ...['Name', 'In', 'Required', 'Type', 'Description'].map((t) => h('th', { scope: 'col', text: t })))));
    const body = h('tbody');
    for (const raw of params) {
      const p = deref(raw);
      body.append(h('tr', {}, h('td', {}, h('code', { text: p.name || '?' })), h('td', { text: p.in || '' }),
        h('td', { text: p.required ? 'yes' : 'no' }), h('td', { text: typeLabel(p.schema) }),
        h('td', { class: 'desc', text: p.description || '' })));
    }
    table.append(body);
    return h('div', { class: 'table-wrap' }, table);
  }

  function operation(path, method, op, pathParams) {
    const id = slug(`${method} ${path}`);
    const sec = h('section', { class: 'endpoint panel', id, 'aria-labelledby': `${id}-h` },
      h('h3', { id: `${id}-h` }, h('span', { class: `method method-${method}`, text: method.toUpperCase() }), h('code', { text: path })));
    if (op.deprecated) sec.append(h('p', { class: 'notice', text: 'Deprecated.' }));
    if (op.summary) sec.append(h('p', {}, h('strong', { text: op.summary })));
    if (op.description) sec.append(h('p', { class: 'desc', text: op.description }));
    if (op.tags && op.tags.length) sec.append(h('p', { class: 'muted small', text: `Tags: ${op.tags.join(', ')}` }));

    const byKey = new Map();
    for (const p of [...pathParams, ...(op.parameters || [])]) { const d = deref(p); byKey.set(`${d.in}:${d.name}`, p); }
    if (byKey.size) sec.append(h('h4', { text: 'Parameters' }), paramsTable([...byKey.values()]));

    if (op.requestBody) {
      const rb = deref(op.requestBody);
      sec.append(h('h4', { text: `Request body${rb.required ? ' (required)' : ''}` }));
      if (rb.description) sec.append(h('p', { class: 'desc', text: rb.description }));
      sec.append(contentList(rb.content) || h('p', { class: 'muted', text: 'No content types declared.' }));
    }

    const responses = Object.entries(op.responses || {});
    if (responses.length) {
      const dl = h('dl', { class: 'responses' });
      for (const [code, raw] of responses) {
        const r = deref(raw);
        dl.append(h('dt', {}, h('code', { text: code }), r.description ? ` — ${r.description}` : ''),
          h('dd', {}, contentList(r.content) || h('span', { class: 'muted small', text: 'No body.' })));
      }
      sec.append(h('h4', { text: 'Responses' }), dl);
    }
    return sec;
  }

  function render() {
    const info = doc.info || {};
    const frag = document.createDocumentFragment();
    const head = h('section', { 'aria-labelledby': 'spec-title' },
      h('h2', { id: 'spec-title', text: `${info.title || 'API'}${info.version ? ` — version ${info.version}` : ''}` }));
    if (info.description) head.append(h('p', { class: 'desc', text: info.description }));
    if (doc.openapi) head.append(h('p', { class: 'muted small', text: `OpenAPI ${doc.openapi}` }));
    if (Array.isArray(doc.servers) && doc.servers.length) {
      head.append(h('p', {}, 'Servers: ', ...doc.servers.flatMap((s, i) => [i ? ', ' : '', h('code', { text: s.url })])));
    }
    const schemes = doc.components && doc.components.securitySchemes;
    if (schemes && Object.keys(schemes).length) {
      const ul = h('ul');
      for (const [n, raw] of Object.entries(schemes)) {
        const s = deref(raw);
        ul.append(h('li', {}, h('code', { text: n }), `: ${[s.type, s.scheme, s.in, s.name].filter(Boolean).join(', ')}`,
          s.description ? ` — ${s.description}` : ''));
      }
      head.append(h('h3', { text: 'Authentication' }), ul);
    }
    frag.append(head);

    const ops = [];
    for (const [path, item] of Object.entries(doc.paths || {})) {
      for (const m of METHODS) if (item && item[m]) ops.push([path, m, item[m], item.parameters || []]);
    }
    const opsSec = h('section', { 'aria-labelledby': 'ops-title' }, h('h2', { id: 'ops-title', text: 'Endpoints' }));
    if (!ops.length) opsSec.append(h('p', { class: 'muted', text: 'The document lists no operations.' }));
    else {
      const toc = h('ul', { class: 'toc' });
      for (const [path, m, op] of ops) {
        toc.append(h('li', {}, h('a', { href: `#${slug(`${m} ${path}`)}` }, `${m.toUpperCase()} ${path}`),
          op.summary ? ` — ${op.summary}` : ''));
      }
      opsSec.append(h('nav', { 'aria-label': 'Endpoints' }, toc));
      for (const [path, m, op, pp] of ops) opsSec.append(operation(path, m, op, pp));
    }
    frag.append(opsSec);

    const schemas = (doc.components && doc.components.schemas) || {};
    if (Object.keys(schemas).length) {
      const sec = h('section', { 'aria-labelledby': 'schemas-title' }, h('h2', { id: 'schemas-title', text: 'Schemas' }));
      for (const [name, s] of Object.entries(schemas)) {
        const id = `schema-${slug(name)}`;
        sec.append(h('div', { class: 'panel', id }, h('h3', {}, h('code', { text: name })),
          s.description ? h('p', { class: 'desc', text: s.description }) : null,
          h('span', { class: 'type', text: typeLabel(s) }), schemaTree({ $ref: `#/components/schemas/${name}` })));
      }
      frag.append(sec);
    }
    out.replaceChildren(frag);
  }

  async function load() {
    try {
      const res = await fetch('openapi/v1.json', { headers: { Accept: 'application/json' } });
      if (!res.ok) throw new Error(`HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
      doc = await res.json();
      if (!doc || typeof doc !== 'object') throw new Error('the response is not a JSON object');
      render();
      status.textContent = '';
      status.hidden = true;
    } catch (err) {
      status.hidden = true;
      out.replaceChildren(h('div', { class: 'notice', role: 'alert' },
        h('strong', { text: 'Could not load the API description. ' }),
        `Fetching openapi/v1.json failed: ${(err && err.message) || err}. The curl examples above still apply.`));
    }
  }

  load();
})();
