// Accessible SVG bar charts of one contest's results. The geometry (barChartLayout) is pure
// and unit-tested (test/unit/portal_chart.test.mjs); renderBarChart builds the SVG with
// attributes and classes only (the CSP forbids inline styles). The chart is one image
// (role="img") named by its <title> and described by its <desc>; the numbers are also in a
// table next to it, for people who read tables rather than pictures.

export const CHART = Object.freeze({
  width: 560, // the widest chart, in viewBox units = CSS pixels (styles/portal.css)
  labelHeight: 20, // the option's title, above its bar
  barHeight: 18,
  rowGap: 14,
  valueSpace: 120, // right of the bars' track, for "1,234 (56.7%)"
  valueGap: 6,
  pad: 4,
  maxLabel: 60, // characters of an option title drawn in the widest chart (the table has all of it)
});

// contest: {id, options: [{id, title}]}; result: {ballots, totals: [{optionId, votes}]}.
// Bars are scaled to the contest's ballots (100 % = every ballot in the contest chose it),
// so a glance reads the same as the percentages, and a contest with no ballot has empty bars.
export function barChartLayout(contest, result, c = CHART) {
  const votesOf = new Map((result?.totals ?? []).map((t) => [t.optionId, t.votes]));
  const ballots = Number.isFinite(result?.ballots) ? result.ballots : 0;
  const maxVotes = Math.max(0, ...votesOf.values());
  const scale = Math.max(ballots, maxVotes); // guards against a total above ballots
  const barSpace = c.width - c.valueSpace;
  const rowHeight = c.labelHeight + c.barHeight + c.rowGap;
  // A narrower chart draws fewer characters of each title.
  const maxLabel = Math.max(12, Math.round((c.maxLabel * c.width) / CHART.width));
  const rows = contest.options.map((option, i) => {
    const votes = votesOf.get(option.id) ?? 0;
    const ratio = scale > 0 ? votes / scale : 0;
    const top = c.pad + i * rowHeight;
    const barWidth = Math.round(ratio * barSpace * 10) / 10;
    return {
      optionId: option.id,
      title: option.title,
      label: truncate(option.title, maxLabel),
      votes,
      ratio: ballots > 0 ? votes / ballots : 0,
      labelY: top + c.labelHeight - 5,
      barY: top + c.labelHeight,
      barWidth,
      valueX: barSpace + c.valueGap,
      valueY: top + c.labelHeight + c.barHeight - 4,
    };
  });
  return {
    width: c.width,
    height: c.pad * 2 + rows.length * rowHeight - c.rowGap,
    barHeight: c.barHeight,
    barSpace,
    ballots,
    rows,
  };
}

export function truncate(text, max) {
  const chars = Array.from(String(text));
  return chars.length <= max ? chars.join('') : `${chars.slice(0, max - 1).join('')}…`;
}

const SVG = 'http://www.w3.org/2000/svg';

// layout from barChartLayout; text: {title, desc, value(row) -> string}; idBase: a unique id
// prefix for the aria references.
export function renderBarChart(doc, layout, text, idBase) {
  const svg = el(doc, 'svg', {
    class: 'bar-chart',
    viewBox: `0 0 ${layout.width} ${layout.height}`,
    width: layout.width,
    height: layout.height,
    role: 'img',
    'aria-labelledby': `${idBase}-title ${idBase}-desc`,
    focusable: 'false',
  });
  const title = el(doc, 'title', { id: `${idBase}-title` });
  title.textContent = text.title;
  const desc = el(doc, 'desc', { id: `${idBase}-desc` });
  desc.textContent = text.desc;
  svg.append(title, desc);
  for (const row of layout.rows) {
    const g = el(doc, 'g', { class: 'bar-chart__row' });
    const label = el(doc, 'text', { class: 'bar-chart__label', x: 0, y: row.labelY });
    label.textContent = row.label;
    const track = el(doc, 'rect', { class: 'bar-chart__track', x: 0, y: row.barY, width: layout.barSpace, height: layout.barHeight });
    const bar = el(doc, 'rect', { class: 'bar-chart__bar', x: 0, y: row.barY, width: row.barWidth, height: layout.barHeight });
    const value = el(doc, 'text', { class: 'bar-chart__value', x: row.valueX, y: row.valueY });
    value.textContent = text.value(row);
    g.append(label, track, bar, value);
    svg.append(g);
  }
  return svg;
}

function el(doc, name, attrs) {
  const node = doc.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}
