// Timers, AbortSignal, crypto.subtle.digest, atob/btoa, structuredClone,
// process.env, Promise.withResolvers and Headers (a class in C),
// reported as JSON.
process.on("SIGTERM", () => console.log("SIGTERM received"));

const hex = (b: ArrayBuffer) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, "0")).join("");

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
  const errors: string[] = [];
  for (const bad of [() => new Headers({ "bad name": "x" }), () => h.set("x", "a\nb"), () => (Headers as any)(), () => new Headers([["a"]]), () => new Headers(5 as any)]) {
    try {
      bad();
      errors.push("none");
    } catch (e) {
      errors.push((e as Error).name);
    }
  }
  got.errors = errors.join(",");
  got.userAgent = request.headers.get("User-Agent");
  got.json = Response.json({}).headers.get("content-type");
  got.text = new Response("x", { headers: [["X-Y", "z"]] }).headers.get("content-type");
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
  });
}
