// Reports: a markdown table of every ratio and an SVG bar chart of ratios against goals.

/** Markdown table of the ratios of one run. */
export function markdown(run) {
  const lines = [
    `Run ${run.date} · commit ${run.commit} · ${run.machine.cpu} × ${run.machine.cores} · Node ${run.versions.node} · ws ${run.versions.ws}${run.quick ? ' · quick' : ''}`,
    '',
    '| scenario | measure | Switchboard | baseline | ratio | goal | met |',
    '|---|---|---:|---:|---:|---:|:---:|',
  ];
  for (const [name, s] of Object.entries(run.scenarios)) {
    if (s.skipped) {
      lines.push(`| ${name} | — | — | — | — | — | not run: ${s.skipped} |`);
      continue;
    }
    if (s.error) {
      lines.push(`| ${name} | — | — | — | — | — | failed: ${s.error.split('\n')[0]} |`);
      continue;
    }
    for (const r of s.ratios) {
      lines.push(`| ${name} | ${r.name} | ${r.switchboard} ${r.unit} | ${r.baseline} ${r.unit} | ${r.value} | ${r.goal === null ? '—' : `${r.better === 'higher' ? '≥' : '≤'} ${r.goal}`} | ${r.goal === null ? 'info' : r.met ? 'yes' : '**no**'} |`);
    }
    for (const n of s.notes ?? []) lines.push(`| ${name} | note | ${n} | | | | |`);
  }
  return lines.join('\n') + '\n';
}

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A horizontal bar chart: one bar per ratio on a linear axis from 0 to 2.5 (where every goal but
 * one lives, so differences of a few percent stay visible); a ratio beyond the axis runs to its
 * end and carries its number, a goal beyond it is written out. Green when the goal is met, red
 * when not, grey when there is no goal. Hand-written SVG: no chart library for one picture.
 */
export function svg(run) {
  const rows = Object.entries(run.scenarios).flatMap(([, s]) => s.ratios ?? []);
  const W = 760;
  const rowH = 40;
  const left = 20;
  const barW = W - left - 190;
  const H = 74 + rows.length * rowH;
  const max = 2.5;
  const x = (v) => left + (Math.min(v, max) / max) * barW;
  let body = `<text x="10" y="22" font-size="15" font-weight="bold">Switchboard ÷ baseline, one run (${esc(run.date.slice(0, 10))}, ${esc(run.commit)})</text>`;
  body += `<text x="10" y="40" font-size="11" fill="#555">bar: measured ratio · black tick: goal · green: met · red: missed · grey: no goal · higher is better unless marked</text>`;
  for (const v of [0, 0.5, 1, 1.5, 2, 2.5]) {
    body += `<line x1="${x(v)}" y1="56" x2="${x(v)}" y2="${H - 6}" stroke="${v === 1 ? '#888' : '#e4e4e4'}" stroke-width="1"${v === 1 ? ' stroke-dasharray="3,3"' : ''}/>`;
    body += `<text x="${x(v)}" y="64" font-size="10" fill="#777" text-anchor="middle">${v}</text>`;
  }
  rows.forEach((r, i) => {
    const y = 70 + i * rowH;
    const color = r.goal === null ? '#7f8c8d' : r.met ? '#2e8b57' : '#c0392b';
    const goalOnAxis = r.goal !== null && r.goal <= max;
    body += `<text x="${left}" y="${y + 12}" font-size="12">${esc(r.name)}${r.better === 'lower' ? ' (lower is better)' : ''}</text>`;
    body += `<rect x="${left}" y="${y + 17}" width="${Math.max(1, x(r.value) - left)}" height="16" fill="${color}"/>`;
    if (goalOnAxis) body += `<line x1="${x(r.goal)}" y1="${y + 14}" x2="${x(r.goal)}" y2="${y + 36}" stroke="#000" stroke-width="2"/>`;
    const goalText = r.goal === null ? '' : ` (goal ${r.better === 'higher' ? '≥' : '≤'} ${r.goal})`;
    const textX = Math.max(x(r.value), goalOnAxis ? x(r.goal) : 0) + 6;
    body += `<text x="${textX}" y="${y + 30}" font-size="12">${r.value > max ? '» ' : ''}${r.value}${goalText}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif"><rect width="100%" height="100%" fill="#fff"/>${body}</svg>\n`;
}
