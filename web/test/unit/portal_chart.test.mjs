import { test } from 'node:test';
import assert from 'node:assert/strict';
import { barChartLayout, truncate, CHART } from '../../src/portal/chart.js';

const contest = { id: 'c', options: [{ id: 'a', title: 'Alice' }, { id: 'b', title: 'Bob' }, { id: 'z', title: 'Zoe' }] };

test('bars are scaled to the contest ballots, in the definition order', () => {
  const layout = barChartLayout(contest, { ballots: 10, totals: [{ optionId: 'b', votes: 5 }, { optionId: 'a', votes: 10 }] });
  const space = CHART.width - CHART.valueSpace;
  assert.deepEqual(layout.rows.map((r) => r.optionId), ['a', 'b', 'z']);
  assert.deepEqual(layout.rows.map((r) => r.votes), [10, 5, 0]);
  assert.deepEqual(layout.rows.map((r) => r.ratio), [1, 0.5, 0]);
  assert.equal(layout.rows[0].barWidth, space);
  assert.equal(layout.rows[1].barWidth, space / 2);
  assert.equal(layout.rows[2].barWidth, 0);
  for (const r of layout.rows) assert.equal(r.valueX, space + CHART.valueGap);
});

test('rows do not overlap and fit the height', () => {
  const layout = barChartLayout(contest, { ballots: 3, totals: [] });
  for (let i = 1; i < layout.rows.length; i++) {
    assert.ok(layout.rows[i].labelY - CHART.labelHeight > layout.rows[i - 1].barY + CHART.barHeight - 1);
  }
  const last = layout.rows.at(-1);
  assert.ok(last.barY + CHART.barHeight <= layout.height);
});

test('an empty contest has empty bars, never NaN', () => {
  const layout = barChartLayout(contest, { ballots: 0, totals: [] });
  for (const r of layout.rows) {
    assert.equal(r.barWidth, 0);
    assert.equal(r.ratio, 0);
  }
  assert.equal(barChartLayout(contest, undefined).rows.length, 3);
});

test('a total above ballots never draws past the track', () => {
  const layout = barChartLayout(contest, { ballots: 2, totals: [{ optionId: 'a', votes: 4 }] });
  assert.equal(layout.rows[0].barWidth, CHART.width - CHART.valueSpace);
});

test('long titles are cut with an ellipsis, by characters', () => {
  assert.equal(truncate('abcdef', 4), 'abc…');
  assert.equal(truncate('abc', 4), 'abc');
  assert.equal(truncate('😀😀😀😀😀', 3), '😀😀…');
});

test('a narrower chart keeps its value column and cuts titles shorter', () => {
  const long = { id: 'c', options: [{ id: 'a', title: 'x'.repeat(100) }] };
  const wide = barChartLayout(long, { ballots: 1, totals: [{ optionId: 'a', votes: 1 }] });
  const narrow = barChartLayout(long, { ballots: 1, totals: [{ optionId: 'a', votes: 1 }] }, { ...CHART, width: 280 });
  assert.equal(narrow.width, 280);
  assert.equal(narrow.rows[0].barWidth, 280 - CHART.valueSpace);
  assert.ok(Array.from(narrow.rows[0].label).length < Array.from(wide.rows[0].label).length);
  assert.equal(Array.from(wide.rows[0].label).length, CHART.maxLabel);
});
