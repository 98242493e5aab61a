#!/usr/bin/env node
// node bench/spread.mjs results/A.json results/B.json …
// The spread of several full runs: one row per ratio, its value in each run, min–max, and in
// how many runs its goal was met, so a goal met in one run and missed in another shows.
// Prints markdown (bench/README.md records it under "Spread across runs").
import { readFileSync } from 'node:fs';

const files = process.argv.slice(2);
if (files.length < 2) {
  console.error('usage: node bench/spread.mjs results/A.json results/B.json [...]');
  process.exit(2);
}
const runs = files.map((f) => JSON.parse(readFileSync(f, 'utf8')));
const rows = new Map(); // scenario + name → { goal, better, values[] }
runs.forEach((run, i) => {
  for (const [scenario, s] of Object.entries(run.scenarios)) {
    for (const r of s.ratios ?? []) {
      const key = `${scenario}\u0000${r.name}`;
      if (!rows.has(key)) rows.set(key, { scenario, name: r.name, goal: r.goal, better: r.better, values: Array(runs.length).fill(undefined), met: Array(runs.length).fill(undefined) });
      const row = rows.get(key);
      row.values[i] = r.value;
      row.met[i] = r.met;
    }
  }
});
const head = runs.map((r, i) => `run ${i + 1} (${r.date.slice(5, 16).replace('T', ' ')}, ${r.commit})`);
console.log(`| scenario | measure | goal | ${head.join(' | ')} | min – max | goal met |`);
console.log(`|---|---|---:|${runs.map(() => '---:').join('|')}|---:|:---:|`);
for (const row of rows.values()) {
  const vals = row.values.filter((v) => v !== undefined);
  const goal = row.goal === null ? '—' : `${row.better === 'higher' ? '≥' : '≤'} ${row.goal}`;
  const metCount = row.met.filter((m) => m === true).length;
  const ran = row.met.filter((m) => m !== undefined).length;
  const met = row.goal === null ? 'info' : metCount === ran ? `yes (${metCount}/${ran})` : metCount === 0 ? `**no** (0/${ran})` : `**mixed** (${metCount}/${ran})`;
  const cells = row.values.map((v, i) => (v === undefined ? '—' : row.goal !== null && row.met[i] === false ? `**${v}**` : String(v)));
  console.log(`| ${row.scenario} | ${row.name} | ${goal} | ${cells.join(' | ')} | ${Math.min(...vals)} – ${Math.max(...vals)} | ${met} |`);
}
