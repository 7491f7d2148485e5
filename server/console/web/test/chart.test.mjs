// Unit tests of the console's pure helpers (node --test; make test runs
// them when Node.js is on the machine).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classBands } from '../src/chart.js';
import { query } from '../src/api.js';

// GB 3838-2002 limits as /water-quality/params gives them.
const tp = { direction: 'at_most', classes: [[null, 0.01], [null, 0.025], [null, 0.05], [null, 0.1], [null, 0.2]] };
const doLimits = { direction: 'at_least', classes: [[7.5, null], [6, null], [5, null], [3, null], [2, null]] };
const ph = { direction: 'range', classes: [[6, 9], [6, 9], [6, 9], [6, 9], [6, 9]] };
const cod = { direction: 'at_most', classes: [[null, 15], [null, 15], [null, 20], [null, 30], [null, 40]] };

test('classBands', async (t) => {
  const cases = [
    { name: 'at most, data across all classes', limits: tp, lo: 0, hi: 0.3,
      want: [['I', 0, 0.01], ['II', 0.01, 0.025], ['III', 0.025, 0.05], ['IV', 0.05, 0.1], ['V', 0.1, 0.2], ['劣V', 0.2, 0.3]] },
    { name: 'at most, view inside class III and IV', limits: tp, lo: 0.03, hi: 0.08,
      want: [['III', 0.03, 0.05], ['IV', 0.05, 0.08]] },
    { name: 'at most, equal limits of I and II make one band', limits: cod, lo: 0, hi: 25,
      want: [['I', 0, 15], ['III', 15, 20], ['IV', 20, 25]] },
    { name: 'at least (dissolved oxygen), best on top', limits: doLimits, lo: 1, hi: 12,
      want: [['I', 7.5, 12], ['II', 6, 7.5], ['III', 5, 6], ['IV', 3, 5], ['V', 2, 3], ['劣V', 1, 2]] },
    { name: 'range (pH) inside', limits: ph, lo: 6.5, hi: 8.5, want: [['I', 6.5, 8.5]] },
    { name: 'range (pH) beyond both ends', limits: ph, lo: 5, hi: 10, want: [['劣V', 5, 6], ['I', 6, 9], ['劣V', 9, 10]] },
    { name: 'no limits', limits: null, lo: 0, hi: 1, want: [] },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const got = classBands(c.limits, c.lo, c.hi).map((b) => [b.cls, b.lo, b.hi]);
      assert.deepEqual(got, c.want);
    });
  }
});

test('query leaves out empty values and joins lists', () => {
  assert.equal(query({ a: '', b: null, c: [], d: ['x', 'y'], e: 0, f: 'z' }), '?d=x%2Cy&e=0&f=z');
  assert.equal(query({}), '');
  assert.equal(query(null), '');
});
