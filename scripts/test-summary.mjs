// Print the plain summary line `N passed, N failed[, N skipped]` from vitest's JSON report(s):
// test-results/report.json and, when present, the browser pass (report-browser.json) and the
// hostile-device pass (report-hostile.json), and the PostgreSQL pass (report-postgres.json).
import { existsSync, readFileSync } from 'node:fs';

const files = process.argv.length > 2 ? process.argv.slice(2) : ['test-results/report.json', 'test-results/report-browser.json', 'test-results/report-postgres.json', 'test-results/report-hostile.json'];
let passed = 0;
let failed = 0;
let skipped = 0;
let read = 0;
// The names of what failed, printed just above the summary line, so the tail of a CI log says which tests to look at.
const failures = [];
for (const file of files) {
  if (!existsSync(file)) continue;
  let report;
  try {
    report = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    console.log(`test-summary: unreadable report ${file} (${err.message})`);
    failed += 1;
    continue;
  }
  read += 1;
  passed += report.numPassedTests ?? 0;
  // Suites that failed to load (syntax error, failing beforeAll) have no test results; count each as one failure.
  const failedSuites = (report.testResults ?? []).filter((s) => s.status === 'failed' && (s.assertionResults ?? []).length === 0).length;
  failed += (report.numFailedTests ?? 0) + failedSuites;
  for (const suite of report.testResults ?? []) {
    const where = String(suite.name ?? '').replace(process.cwd() + '/', '');
    if (suite.status === 'failed' && (suite.assertionResults ?? []).length === 0) failures.push(`${where}: ${firstLine(suite.message)}`);
    for (const test of suite.assertionResults ?? []) {
      if (test.status === 'failed') failures.push(`${where} > ${test.fullName ?? test.title}: ${firstLine((test.failureMessages ?? [])[0])}`);
    }
  }
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
}
if (failures.length > 0) {
  console.log(`test-summary: ${failures.length} failed:`);
  for (const line of failures) console.log(`  FAILED ${line}`);
}
if (read === 0) {
  console.log('test-summary: no test report was written; the run did not finish');
  failed = Math.max(failed, 1);
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed > 0 ? 1 : 0;

function firstLine(text) {
  const line = String(text ?? '').split('\n').find((l) => l.trim() !== '') ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
