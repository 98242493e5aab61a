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
      lines.push(`| ${name} | ${r.name} | ${r.switchboard} ${r.unit} | ${r.baseline} ${r.unit} | ${r.value} | ${r.goal === null ? '—' : `${r.better === 'higher' ? '≥' : '≤'} ${r.goal}`} | ${r.met === null ? 'info' : r.met ? 'yes' : '**no**'} |`);
    }
    for (const n of s.notes ?? []) lines.push(`| ${name} | note | ${n} | | | | |`);
  }
  return lines.join('\n') + '\n';
}

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A horizontal bar chart: one bar per ratio, scaled so the goal sits at a marked line; green
 * when the goal is met, red when not. Hand-written SVG: no chart library for one picture.
 */
export function svg(run) {
  const rows = Object.entries(run.scenarios).flatMap(([, s]) => s.ratios ?? []);
  const W = 760;
  const rowH = 30;
  const left = 330;
  const barW = W - left - 80;
  const H = 50 + rows.length * rowH + 20;
  const max = Math.max(2, ...rows.map((r) => Math.min(r.value, 20)), ...rows.map((r) => r.goal ?? 0)) * 1.05;
  const x = (v) => left + (Math.min(v, max) / max) * barW;
  let body = `<text x="10" y="22" font-size="15" font-weight="bold">Switchboard ÷ baseline, one run (${esc(run.date.slice(0, 10))}, ${esc(run.commit)})</text>`;
  body += `<text x="10" y="40" font-size="11" fill="#555">bar: measured ratio · tick: goal · green: goal met · grey: no goal, for information · higher is better unless marked (lower)</text>`;
  rows.forEach((r, i) => {
    const y = 50 + i * rowH;
    const color = r.met === null ? '#7f8c8d' : r.met ? '#2e8b57' : '#c0392b';
    body += `<text x="10" y="${y + 18}" font-size="12">${esc(r.name)}${r.better === 'lower' ? ' (lower)' : ''}</text>`;
    body += `<rect x="${left}" y="${y + 5}" width="${Math.max(1, x(r.value) - left)}" height="18" fill="${color}"/>`;
    if (r.goal !== null) body += `<line x1="${x(r.goal)}" y1="${y + 1}" x2="${x(r.goal)}" y2="${y + 27}" stroke="#000" stroke-width="2"/>`;
    body += `<text x="${x(r.value) + 6}" y="${y + 18}" font-size="12">${r.value}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif"><rect width="100%" height="100%" fill="#fff"/>${body}</svg>\n`;
}
