// Drives the Functions dashboard of a running wfn serve in headless
// Chromium (playwright-core with Debian's chromium): it opens /_wfn/,
// makes requests, and checks that the functions, the invocations, the
// percentiles and the filtered logs appear. Environment: WFN_URL (the
// server), CHROMIUM (the browser), WFN_SCREENSHOT (where to save a PNG).
// It prints "ok" and exits 0, or prints why and exits 1.
"use strict";
const { chromium } = require("playwright-core");

const base = process.env.WFN_URL;
const rows = (sel) => `[...document.querySelectorAll(${JSON.stringify(sel + " tbody tr")})].map((r) => r.textContent)`;

async function main() {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM, args: ["--no-sandbox"] });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    const problems = [];
    page.on("pageerror", (e) => problems.push("page error: " + e));
    page.on("console", (m) => { if (m.type() === "error") problems.push("console error: " + m.text()); });
    const step = async (what, fn) => {
      try {
        await fn();
      } catch (e) {
        await page.screenshot({ path: process.env.WFN_SCREENSHOT, fullPage: true });
        throw new Error(what + ": " + e.message);
      }
    };

    await page.goto(base + "/_wfn/");
    await step("the functions", async () => {
      await page.waitForSelector('#functions tr[data-source="api/hello.wasm"]');
      const fns = (await page.evaluate(rows("#functions"))).join("\n");
      for (const want of ["/api/hello", "api/trap.wasm", "api/notwasm.wasm", "ready", "error", "not a WebAssembly module"]) {
        if (!fns.includes(want)) throw new Error(`no ${JSON.stringify(want)} in ${fns}`);
      }
    });
    await step("the event stream", () => page.waitForFunction(() => document.getElementById("status").textContent === "live"));

    // Requests made while the page is open appear without a reload.
    for (let i = 0; i < 3; i++) await (await fetch(base + "/api/hello")).text();
    await (await fetch(base + "/api/trap")).text();
    await step("the invocations", () => page.waitForFunction((sel) => {
      const r = [...document.querySelectorAll(sel)].map((r) => r.textContent);
      return r.filter((t) => t.includes("/api/hello") && t.includes("200")).length === 3 &&
        r.some((t) => t.includes("/api/trap") && t.includes("500"));
    }, "#invocations tbody tr"));
    await step("the percentiles", () => page.waitForFunction(() => {
      const p50 = document.querySelector('#functions tr[data-source="api/hello.wasm"] .p50');
      const p99 = document.querySelector('#functions tr[data-source="api/hello.wasm"] .p99');
      return p50 && p99 && / ms$/.test(p50.textContent) && / ms$/.test(p99.textContent);
    }));

    // The logs, filtered by function and by level.
    await page.selectOption("#log-fn", "api/trap.wasm");
    await page.selectOption("#log-level", "ERROR");
    await step("the filtered logs", () => page.waitForFunction((sel) => {
      const r = [...document.querySelectorAll(sel)].map((r) => r.textContent);
      return r.length > 0 && r.every((t) => t.includes("api/trap.wasm") && t.includes("ERROR")) && r.some((t) => t.includes("invocation failed"));
    }, "#logs tbody tr"));
    await page.selectOption("#log-fn", "api/hello.wasm");
    await step("no error logs of hello", () => page.waitForFunction((sel) => document.querySelectorAll(sel).length === 0, "#logs tbody tr"));
    await page.selectOption("#log-fn", "");
    await page.check("#log-errors");
    await step("the error log", () => page.waitForFunction((sel) => {
      const r = [...document.querySelectorAll(sel)].map((r) => r.textContent);
      return r.some((t) => t.includes("invocation failed") && t.includes("api/trap.wasm"));
    }, "#logs tbody tr"));
    await page.uncheck("#log-errors");
    await page.selectOption("#log-level", "INFO");

    await page.screenshot({ path: process.env.WFN_SCREENSHOT, fullPage: true });
    if (problems.length) throw new Error(problems.join("\n"));
    console.log("ok");
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.log(String(e.stack || e));
  process.exit(1);
});
