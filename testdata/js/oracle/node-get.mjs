// Calls a Web handler's GET in Node.js, on Node's own Request, Response
// and webcrypto, and prints the response's body: the oracle of
// host/jsweb_test.go's crypto checks.
//
//   node node-get.mjs BUNDLE.js URL
//
// The bundle is an IIFE that sets the global __example to a module's
// exports (as for edge-serve.mjs).
import { readFileSync } from "node:fs";

const [file, url] = process.argv.slice(2);
(0, eval)(readFileSync(file, "utf8"));
const response = await globalThis.__example.GET(new Request(url));
process.stdout.write(await response.text());
