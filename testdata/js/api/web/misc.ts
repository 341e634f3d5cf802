// Timers, AbortSignal, crypto.subtle.digest, atob/btoa, structuredClone,
// process.env, Promise.withResolvers, Headers, Request and Response
// (classes in C), reported as JSON.
process.on("SIGTERM", () => console.log("SIGTERM received"));

const hex = (b: ArrayBuffer) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, "0")).join("");

// errorNames calls each function and names what it throws ("none" if
// nothing), joined with commas.
function errorNames(fns: (() => unknown)[]) {
  return fns
    .map((f) => {
      try {
        f();
        return "none";
      } catch (e) {
        return (e as Error).name;
      }
    })
    .join(",");
}

// headerChecks runs Headers through what the Fetch Standard says of it:
// names lower-cased, values trimmed, several values joined with ", ",
// sorted iteration with set-cookie values one by one, set and delete of
// every value of a name, copies, subclasses and the errors.
function headerChecks(request: Request) {
  const h = new Headers({ "X-A": " 1 ", b: "2" });
  h.append("x-a", "3\t");
  h.append("Set-Cookie", "c=1");
  h.append("set-cookie", "d=2");
  const got: Record<string, unknown> = {
    get: h.get("X-A"),
    missing: h.get("nope"),
    entries: [...h].map(([n, v]) => `${n}=${v}`).join("|"),
    keys: [...h.keys()].join(","),
    setCookie: h.getSetCookie().join("|"),
    tag: Object.prototype.toString.call(h),
  };
  const seen: string[] = [];
  h.forEach((v, n, self) => seen.push(`${n}:${self === h}`));
  got.forEach = seen.join(",");
  h.set("X-A", "9");
  got.afterSet = `${h.get("x-a")} ${[...h.keys()].join(",")}`;
  h.delete("SET-COOKIE");
  got.afterDelete = `${h.has("set-cookie")} ${h.has("B")}`;
  got.copy = new Headers(h).get("x-a");
  const Sub = class extends Headers {};
  const sub = new Sub([["K", "v"]]);
  got.subclass = `${sub.get("k")} ${sub instanceof Headers} ${sub instanceof Sub}`;
  got.errors = errorNames([() => new Headers({ "bad name": "x" }), () => h.set("x", "a\nb"), () => (Headers as any)(), () => new Headers([["a"]]), () => new Headers(5 as any)]);
  got.userAgent = request.headers.get("User-Agent");
  got.json = Response.json({}).headers.get("content-type");
  got.text = new Response("x", { headers: [["X-Y", "z"]] }).headers.get("content-type");
  return got;
}

// responseChecks runs Response through what the Fetch Standard says of
// it: defaults, the init's status, statusText and headers, each body's
// default Content-Type, clones, subclasses and the errors.
async function responseChecks() {
  const r = new Response("héllo", { status: 201, statusText: "Made", headers: { "X-A": "1" } });
  const got: Record<string, unknown> = {
    init: `${r.status} ${r.ok} ${r.statusText} ${r.headers.get("x-a")} ${r.headers.get("content-type")} ${r.type} ${JSON.stringify(r.url)} ${r.redirected} ${r.bodyUsed}`,
    tag: Object.prototype.toString.call(r),
  };
  const copy = r.clone();
  got.text = `${await r.text()} ${r.bodyUsed} ${await copy.text()} ${copy.status} ${copy.statusText}`;
  const d = new Response();
  got.empty = `${d.status} ${d.ok} ${JSON.stringify(d.statusText)} ${d.body} ${d.headers.get("content-type")} ${await d.text() === ""}`;
  got.bytes = `${new Response(new Uint8Array([104, 105])).headers.get("content-type")} ${await new Response(new Uint8Array([104, 105]).buffer).text()}`;
  got.form = new Response(new URLSearchParams("a=1")).headers.get("content-type");
  got.number = await new Response(42 as any).text();
  const j = Response.json({ a: 1 }, { status: 404 });
  got.json = `${j.status} ${j.ok} ${j.headers.get("content-type")} ${await j.text()}`;
  const redirect = Response.redirect("https://example.com/x", 307);
  got.redirect = `${redirect.status} ${redirect.headers.get("location")}`;
  const Sub = class extends Response {
    get extra() {
      return "sub";
    }
  };
  const sub = new Sub("s");
  got.subclass = `${sub instanceof Response} ${sub.extra} ${await sub.text()}`;
  got.stream = await new Response(new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode("streamed")); c.close(); } })).text();
  got.errors = errorNames([() => new Response("x", { status: 100 }), () => new Response("x", { status: 204 }), () => new Response("x", { status: 200.5 }), () => (Response as any)(), () => Object.getOwnPropertyDescriptor(Response.prototype, "status")!.get!.call({}), () => Response.redirect("/x", 200)]);
  const used = new Response("once");
  await used.text();
  got.reuse = await used.text().then(() => "none", (e) => (e as Error).name);
  return got;
}

// requestChecks runs Request through what the Fetch Standard says of it:
// the request served, a Request made by the function, copies, clones and
// the errors.
async function requestChecks(request: Request) {
  const served = `${request.method} ${new URL(request.url).pathname} ${request.signal instanceof AbortSignal} ${request.signal === request.signal} ${request.redirect} ${request.body} ${request.bodyUsed} ${Object.prototype.toString.call(request)}`;
  const copy = request.clone();
  const r = new Request("https://example.com/a?b=1", { method: "post", headers: { "X-A": "1" }, body: "text", redirect: "manual" });
  const again = new Request(r, { headers: { "x-b": "2" } });
  const got: Record<string, unknown> = {
    served,
    clone: `${copy.method} ${copy.url === request.url} ${copy.headers.get("user-agent")} ${copy instanceof Request}`,
    made: `${r.method} ${r.url} ${r.headers.get("x-a")} ${r.headers.get("content-type")} ${r.redirect} ${r.signal.aborted}`,
    copied: `${again.method} ${again.headers.get("x-a")} ${again.headers.get("x-b")} ${again.redirect} ${r.bodyUsed} ${await again.text()}`,
    put: new Request("https://example.com/", { method: "put" }).method,
  };
  // A body read through its stream is used once read, though the reader
  // let go of it (Fetch: "disturbed"): a second read throws.
  const streamed = new Request("https://example.com/", { method: "POST", body: "abc" });
  for await (const _ of streamed.body as any) {
  }
  got.streamed = `${streamed.bodyUsed} ${await streamed.text().then(() => "read again", (e) => e.name)}`;
  got.errors = errorNames([() => new Request("https://example.com/", { body: "x" }), () => new Request("https://example.com/", { redirect: "nope" as any }), () => (Request as any)("https://example.com/"), () => new Request("not a url"), () => new Request("https://example.com/", { method: "TRACE" })]);
  return got;
}

export async function GET(request: Request) {
  const order: string[] = [];
  const cleared = setTimeout(() => order.push("cleared"), 1);
  clearTimeout(cleared);
  setTimeout((x: string) => order.push(x), 5, "second");
  setTimeout(() => order.push("first"), 0);
  const ticks = await new Promise<number>((resolve) => {
    let n = 0;
    const id = setInterval(() => {
      if (++n === 3) {
        clearInterval(id);
        resolve(n);
      }
    }, 2);
  });
  const { promise, resolve } = Promise.withResolvers<string>();
  setTimeout(() => resolve("resolved"), 1);

  const timeout = AbortSignal.timeout(1);
  await new Promise((r) => timeout.addEventListener("abort", r));
  // With no other timer left, AbortSignal.timeout's still fires while
  // the handler waits on it (the pending response keeps the loop alive,
  // as an open request keeps Node.js's).
  await promise;
  const lone = AbortSignal.timeout(20);
  await new Promise((r) => lone.addEventListener("abort", r));
  const controller = new AbortController();
  const any = AbortSignal.any([controller.signal, AbortSignal.timeout(60_000)]);
  controller.abort("why");
  let thrown = "";
  try {
    any.throwIfAborted();
  } catch (e) {
    thrown = String(e);
  }

  const data = new TextEncoder().encode("abc");
  const digests: Record<string, string> = {};
  for (const alg of ["SHA-1", "SHA-256", "SHA-384", "SHA-512"]) digests[alg] = hex(await crypto.subtle.digest(alg, data));
  const source: any = { m: new Map([["k", [1, 2]]]), d: new Date(0) };
  source.self = source;
  const clone = structuredClone(source);
  let cloneError = "";
  try {
    structuredClone({ f() {} });
  } catch (e) {
    cloneError = (e as Error).name;
  }

  return Response.json({
    order,
    ticks,
    withResolvers: await promise,
    timeout: [timeout.aborted, (timeout.reason as DOMException).name],
    any: [any.aborted, any.reason, thrown],
    digests,
    b64: btoa("hello\u00ff"),
    unb64: atob("aGVsbG8="),
    clone: [clone.m instanceof Map, clone.m.get("k"), clone.d instanceof Date && clone.d.getTime(), clone.self === clone && clone !== source, cloneError],
    env: process.env.GREETING ?? null,
    bundleHidden: !("WFN_JS_BUNDLE" in process.env),
    headers: headerChecks(request),
    response: await responseChecks(),
    request: await requestChecks(request),
  });
}
