// URLPattern (WHATWG URL Pattern Standard), as middleware-style routing
// uses it: matching, groups, base URLs, options and the errors. Nothing in
// it is wfn's own: host/jsoracle_test.go runs it on the Edge Runtime too.

// attempt gives what f returns, or the name of what it throws.
function attempt(f: () => unknown) {
  try {
    return f();
  } catch (e) {
    return (e as Error).name;
  }
}

// groups gives an exec result's input and groups of each component.
function groups(r: URLPatternResult | null) {
  if (r === null) return null;
  const parts = ['protocol', 'username', 'password', 'hostname', 'port', 'pathname', 'search', 'hash'] as const;
  return { inputs: r.inputs, ...Object.fromEntries(parts.map((p) => [p, r[p]])) };
}

export function GET(request: Request) {
  const books = new URLPattern({ pathname: '/books/:id(\\d+)' });
  const api = new URLPattern('/api/:path*', 'https://example.com');
  const wild = new URLPattern({ hostname: '{*.}?example.com', pathname: '/*' });
  const got: Record<string, unknown> = {
    tag: Object.prototype.toString.call(books),
    components: ['protocol', 'username', 'password', 'hostname', 'port', 'pathname', 'search', 'hash'].map((p) => (books as any)[p]),
    apiComponents: [api.protocol, api.hostname, api.port, api.pathname, api.search, api.hash],
    test: [
      books.test('https://example.com/books/123'),
      books.test('https://example.com/books/abc'),
      books.test({ pathname: '/books/7' }),
      books.test('/books/7', 'https://other.test'),
      api.test('https://example.com/api/a/b/c'),
      api.test('https://example.org/api/a'),
      wild.test('https://www.example.com/x'),
      wild.test('https://example.com/'),
      wild.test('https://badexample.com/'),
    ],
    exec: groups(books.exec('https://example.com/books/42?x=1#top')),
    execApi: groups(api.exec('https://example.com/api/users/7')),
    execWild: groups(wild.exec({ hostname: 'a.b.example.com', pathname: '/deep/path' })),
    noMatch: books.exec('https://example.com/books/'),
    optional: ['/a', '/a/b', '/a/b/c'].map((p) => new URLPattern({ pathname: '/a{/:b}?' }).exec({ pathname: p })?.pathname.groups ?? null),
    regexp: new URLPattern({ pathname: '/(foo|bar)/:rest+' }).exec({ pathname: '/bar/x/y' })?.pathname.groups,
    ignoreCase: [
      new URLPattern({ pathname: '/Books' }).test({ pathname: '/books' }),
      new URLPattern({ pathname: '/Books' }, { ignoreCase: true }).test({ pathname: '/books' }),
      new URLPattern('/Books', 'https://example.com', { ignoreCase: true }).test('https://example.com/BOOKS'),
    ],
    search: new URLPattern({ search: 'q=:term' }).exec({ search: '?q=wfn' })?.search.groups,
    escaped: new URLPattern({ pathname: '/a\\:b' }).test({ pathname: '/a:b' }),
    served: new URLPattern({ pathname: '/api/web/:name' }).exec(request.url)?.pathname.groups,
    errors: [
      attempt(() => new URLPattern({ pathname: '/(' })),
      attempt(() => new URLPattern('/relative')),
      attempt(() => new URLPattern({ pathname: '/:id(\\d+' })),
      attempt(() => new URLPattern({ pathname: '/:a/:a' })),
      attempt(() => new URLPattern({ pathname: '/x' }, 'https://example.com' as any)),
      attempt(() => (URLPattern as any)({ pathname: '/x' })),
    ],
  };
  return Response.json(got);
}
