// Summarises results of the http-cache-tests suite the way its site does
// (lib/display.mjs determineTestResult, dependencies honoured): for each
// results file, the required tests passed and failed, the optimal ones
// passed, and the ids of the required failures.
//   node scripts/http-cache-tests-summary.mjs [--vercel] [--max-failures=N]
//     [--min-passes=N] SUITE_DIR RESULTS.json...
// SUITE_DIR is the installed package (node_modules/http-cache-tests).
// With --vercel, a required test that expects a response to be reused or
// revalidated from the cache applies only when one of its responses is
// cacheable by Vercel's rules (s-maxage, or a CDN-Cache-Control); the
// others (max-age or Expires for every cache) are counted apart as not
// applying. Tests that expect a response not to be reused always apply.
import fs from 'fs'
import path from 'path'
import { pathToFileURL } from 'url'

const args = process.argv.slice(2)
const flags = {}
while (args.length && args[0].startsWith('--')) {
  const [name, value] = args.shift().slice(2).split('=')
  flags[name] = value === undefined ? true : Number(value)
}
const vercel = flags.vercel === true
const [suiteDir, ...files] = args
let failed = false
const load = p => import(pathToFileURL(path.join(suiteDir, p)).href)
const tests = (await load('tests/index.mjs')).default
// The site's counts leave out the Surrogate-Control tests the CLI adds.
const { determineTestResult } = await load('lib/display.mjs')

// appliesToVercel reports whether a test can pass under Vercel's rules.
function appliesToVercel (test) {
  const reuses = test.requests.some(r => ['cached', 'etag_validated', 'lm_validated'].includes(r.expected_type))
  if (!reuses) return true
  return test.requests.some(r => (r.response_headers || []).some(([name, value]) =>
    (String(name).toLowerCase() === 'cache-control' && /s-maxage/i.test(String(value))) ||
    String(name).toLowerCase() === 'cdn-cache-control'))
}

for (const file of files) {
  const results = JSON.parse(fs.readFileSync(file, 'utf8'))
  const count = { required: 0, pass: 0, fail: 0, optimal: 0, optimalPass: 0, notRun: 0, notApplying: 0 }
  const failures = []
  for (const suite of tests) {
    for (const test of suite.tests) {
      const kind = test.kind || 'required'
      const symbol = determineTestResult(tests, test.id, results)[2]
      if (kind === 'required' && vercel && !appliesToVercel(test)) {
        count.notApplying++
      } else if (kind === 'required') {
        count.required++
        if (symbol === '✅') count.pass++
        else if (symbol === '⛔️') { count.fail++; failures.push(test.id) } else count.notRun++
      } else if (kind === 'optimal') {
        count.optimal++
        if (symbol === '✅') count.optimalPass++
      }
    }
  }
  const apart = vercel ? ` (${count.notApplying} more do not apply under Vercel's rules)` : ''
  console.log(`${path.basename(file)}: required ${count.pass} passed, ${count.fail} failed, ${count.notRun} not run (setup or dependency) of ${count.required}${apart}; optimal ${count.optimalPass} of ${count.optimal} passed`)
  for (const id of failures) console.log(`  required failure: ${id}`)
  if (flags['max-failures'] !== undefined && count.fail > flags['max-failures']) {
    console.log(`  ${count.fail} required failures, over the ${flags['max-failures']} allowed`)
    failed = true
  }
  if (flags['min-passes'] !== undefined && count.pass < flags['min-passes']) {
    console.log(`  ${count.pass} required passes, under the ${flags['min-passes']} wanted`)
    failed = true
  }
}
if (failed) process.exit(1)
