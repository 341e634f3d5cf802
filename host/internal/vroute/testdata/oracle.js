// Test oracle: reads cases from stdin, builds each case's route table with
// @vercel/routing-utils' getTransformedRoutes, and routes each request of
// the case through that table with JavaScript's RegExp, the way Vercel's
// router does (vercel/vercel packages/cli/src/util/dev/router.ts, with
// Next.js's matchHas for has/missing, and the request's query passed
// through redirects). Writes the tables and results as JSON to stdout.
// The tables are routing-utils' own; the routing below is this file's
// reading of Vercel's router, an independent second implementation in
// the engine (JavaScript's RegExp) the tables are written for.
'use strict';
const { getTransformedRoutes } = require('@vercel/routing-utils');

function input() {
  return require('fs').readFileSync(0, 'utf8');
}

function condValue(req, c) {
  switch (c.type) {
    case 'header': {
      const k = Object.keys(req.headers || {}).find(h => h.toLowerCase() === c.key);
      return k === undefined ? undefined : req.headers[k];
    }
    case 'cookie':
      return (req.cookies || {})[c.key];
    case 'query': {
      const v = new URLSearchParams(req.query || '').getAll(c.key);
      return v.length ? v[v.length - 1] : undefined;
    }
    case 'host':
      return req.host;
  }
}

// decimal reads a decimal number (sign, digits, point, exponent), or NaN.
function decimal(v) {
  return /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/.test(v) ? Number(v) : NaN;
}

// ops reads the object form of a value (routing-utils' matchableValueSchema):
// every operator given must hold; re is matched as a string value is.
function ops(o, v) {
  if (typeof o.eq === 'string' && v !== o.eq) return false;
  if (typeof o.eq === 'number' && decimal(v) !== o.eq) return false;
  if ('neq' in o && v === o.neq) return false;
  if ('inc' in o && !o.inc.includes(v)) return false;
  if ('ninc' in o && o.ninc.includes(v)) return false;
  if ('pre' in o && !v.startsWith(o.pre)) return false;
  if ('suf' in o && !v.endsWith(o.suf)) return false;
  const n = decimal(v);
  if ('gt' in o && !(n > o.gt)) return false;
  if ('gte' in o && !(n >= o.gte)) return false;
  if ('lt' in o && !(n < o.lt)) return false;
  if ('lte' in o && !(n <= o.lte)) return false;
  return true;
}

function matchCond(req, c, params) {
  const v = condValue(req, c);
  if (v === undefined || v === '') return false;
  let re = c.value;
  if (c.value && typeof c.value === 'object') {
    if (!ops(c.value, v)) return false;
    re = c.value.re;
  }
  if (!re) {
    if (c.key && typeof c.value !== 'object') params[c.key] = v;
    return true;
  }
  const m = v.match(new RegExp(`^${re}$`));
  if (!m) return false;
  if (m.groups) Object.assign(params, m.groups);
  else if (c.type === 'host') params.host = m[0];
  return true;
}

function match(route, req, path) {
  const re = new RegExp(route.src, 'i');
  const m = re.exec(path) || re.exec(path.substring(1));
  if (!m) return null;
  const params = {};
  for (const c of route.has || []) if (!matchCond(req, c, params)) return null;
  for (const c of route.missing || []) if (matchCond(req, c, {})) return null;
  return { m, params };
}

function resolve(s, { m, params }) {
  return s.replace(/\$([1-9a-zA-Z]+)/g, (_, name) => {
    if (name in params) return params[name];
    if (m.groups && name in m.groups) return m.groups[name] || '';
    return m[parseInt(name, 10)] || '';
  });
}

function route(routes, req, files) {
  const exists = p => files.includes(p);
  const fs = routes.findIndex(r => r.handle === 'filesystem');
  const pre = fs < 0 ? routes : routes.slice(0, fs);
  const post = fs < 0 ? [] : routes.slice(fs + 1);
  const headers = {};
  let path = req.path;
  for (const r of pre) {
    const mm = match(r, req, path);
    if (!mm) continue;
    for (const [k, v] of Object.entries(r.headers || {})) headers[k.toLowerCase()] = resolve(v, mm);
    if (r.continue) continue;
    if (r.status) {
      let location = headers.location;
      delete headers.location;
      const reqQuery = new URLSearchParams(req.query || '');
      if (location && [...reqQuery.keys()].length) {
        // The request's query passes through the redirect.
        let hash = '';
        const h = location.indexOf('#');
        if (h >= 0) [location, hash] = [location.slice(0, h), location.slice(h)];
        const i = location.indexOf('?');
        const q = new URLSearchParams(i < 0 ? '' : location.slice(i + 1));
        for (const k of new Set(reqQuery.keys())) {
          q.delete(k);
          for (const v of reqQuery.getAll(k)) q.append(k, v);
        }
        location = (i < 0 ? location : location.slice(0, i)) + '?' + q.toString() + hash;
      }
      return { status: r.status, location, headers };
    }
    break;
  }
  if (exists(path)) return { path, query: req.query || '', found: true, headers };
  const reqQuery = new URLSearchParams(req.query || '');
  let query = req.query || '';
  for (const r of post) {
    const mm = match(r, req, path);
    if (!mm) continue;
    let dest = resolve(r.dest, mm);
    if (/^https?:\/\//.test(dest)) {
      const u = new URL(dest);
      for (const k of new Set(reqQuery.keys())) {
        u.searchParams.delete(k);
        for (const v of reqQuery.getAll(k)) u.searchParams.append(k, v);
      }
      return { external: u.toString(), headers, rewriteStatus: r.status || 0 };
    }
    if (!dest.startsWith('/')) dest = '/' + dest;
    const i = dest.indexOf('?');
    const q = new URLSearchParams(i < 0 ? '' : dest.slice(i + 1));
    for (const k of new Set(reqQuery.keys())) {
      q.delete(k);
      for (const v of reqQuery.getAll(k)) q.append(k, v);
    }
    path = i < 0 ? dest : dest.slice(0, i);
    query = q.toString();
    if (!r.check || exists(path)) return { path, query, found: exists(path), headers, rewriteStatus: r.status || 0 };
  }
  return { path, query, found: exists(path), headers };
}

const out = JSON.parse(input()).map(c => {
  const { routes, error } = getTransformedRoutes(JSON.parse(JSON.stringify(c.config)));
  if (error) return { error: error.message };
  return { routes, results: (c.requests || []).map(req => route(routes, req, c.files || [])) };
});
process.stdout.write(JSON.stringify(out));
