// Serves Web handlers on Vercel's Edge Runtime (npm edge-runtime), the
// oracle of host/jsoracle_test.go.
//
//   node edge-serve.mjs BUNDLE.js...   (run in a directory whose
//                                       node_modules holds edge-runtime)
//
// Each bundle is an IIFE that sets the global __example to a module's
// exports: export function GET/POST/... (HEAD answered from GET when not
// exported, as Next.js and Vercel do), export default { fetch }, or, with
// `export const config = { runtime: "edge" }`, export default function
// (request, context), an Edge Function. One
// server per bundle on 127.0.0.1; the servers' URLs are printed as one
// JSON array line; the process ends when its stdin closes.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const require = createRequire(join(process.cwd(), "index.js"));
const { EdgeRuntime, runServer } = require("edge-runtime");

const dispatch = `
addEventListener("fetch", (event) => {
  const m = globalThis.__example;
  const request = event.request;
  const methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
  let handler;
  if (methods.some((name) => typeof m[name] === "function")) {
    handler = m[request.method] ?? (request.method === "HEAD" ? m.GET : undefined);
  } else if (m.default && typeof m.default.fetch === "function") {
    handler = (r) => m.default.fetch(r);
  } else if (typeof m.default === "function" && m.config?.runtime === "edge") {
    handler = (r) => m.default(r, event); // an Edge Function: (request, context)
  }
  event.respondWith(handler ? Promise.resolve().then(() => handler(request)) : new Response(null, { status: 405 }));
});
`;

const servers = [];
for (const file of process.argv.slice(2)) {
  const runtime = new EdgeRuntime({ initialCode: readFileSync(file, "utf8") + dispatch });
  servers.push(await runServer({ runtime, port: 0, host: "127.0.0.1" }));
}
process.stdout.write(JSON.stringify(servers.map((s) => s.url)) + "\n");
process.stdin.resume();
process.stdin.on("end", async () => {
  await Promise.all(servers.map((s) => s.close()));
  process.exit(0);
});
