// The module-worker shape, async, with the Web APIs of the prelude.
export default {
  async fetch(request) {
    const url = new URL(request.url);
    const text = await request.text();
    const bytes = new TextEncoder().encode(text);
    const back = new TextDecoder().decode(bytes);
    console.log("fetch", request.method, url.pathname, { q: url.searchParams.get("q") });
    console.error("to stderr");
    await new Promise((resolve) => queueMicrotask(resolve));
    return new Response(JSON.stringify({
      method: request.method,
      path: url.pathname,
      q: url.searchParams.get("q"),
      bytes: bytes.length,
      same: back === text,
      agent: request.headers.get("user-agent"),
    }), { headers: { "content-type": "application/json" } });
  },
};
