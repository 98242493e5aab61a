#!/usr/bin/env node
// npm run bench -- [SCENARIO…] [--quick]
// Runs scenarios from bench/scenarios (each one file), Switchboard and its baseline alternating
// in the same run, and writes bench/results/{timestamp}.json and .md, latest.md, latest.svg,
// and the figures table in bench/README.md.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { canPin, fdLimit } from './lib/proc.mjs';
import { markdown, svg } from './lib/report.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const available = readdirSync(path.join(here, 'scenarios')).filter((f) => f.endsWith('.mjs')).map((f) => f.slice(0, -4)).sort();
const wanted = args.filter((a) => !a.startsWith('--'));
const unknown = wanted.filter((w) => !available.includes(w));
if (unknown.length) {
  console.error(`unknown scenario(s): ${unknown.join(', ')}; available: ${available.join(', ')}`);
  process.exit(2);
}
const order = ['echo', 'push', 'handshakes', 'tail', 'idle', 'fanout', 'peers', 'workers'];
const rank = (name) => (order.indexOf(name) + 99) % 99; // unlisted scenarios last
const selected = (wanted.length ? wanted : available).sort((a, b) => rank(a) - rank(b));

const git = (...a) => {
  try {
    return execFileSync('git', a, { cwd: here }).toString().trim();
  } catch {
    return 'unknown';
  }
};
const run = {
  date: new Date().toISOString(),
  commit: git('rev-parse', '--short', 'HEAD') + (git('status', '--porcelain', '--', '../src') ? '+dirty' : ''),
  quick,
  machine: { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, memGiB: Math.round(os.totalmem() / 2 ** 30), pinned: canPin(), fdLimit: fdLimit(), kernel: os.release() },
  versions: { node: process.version, ws: JSON.parse(readFileSync(path.join(here, '..', 'node_modules', 'ws', 'package.json'), 'utf8')).version, switchboard: JSON.parse(readFileSync(path.join(here, '..', 'package.json'), 'utf8')).version },
  scenarios: {},
};
const log = (line) => console.log(`  ${line}`);

// Quick runs are for a look, not for the record: their files are marked (and git-ignored), and
// they leave latest.* and the README table alone.
const stamp = run.date.replace(/[:.]/g, '-') + (quick ? '-quick' : '');
const results = path.join(here, 'results');

/** Writes this run's files and merges its scenarios into the latest ones and bench/README.md. */
function save() {
  writeFileSync(path.join(results, `${stamp}.json`), JSON.stringify(run, null, 2) + '\n');
  writeFileSync(path.join(results, `${stamp}.md`), markdown(run));
  if (quick) return;
  // "latest" files keep the newest figure of every scenario, so a one-scenario run updates its rows only.
  let latest = { ...run, scenarios: {} };
  try {
    latest = JSON.parse(readFileSync(path.join(results, 'latest.json'), 'utf8'));
  } catch {}
  // A scenario this run did not measure (skipped: e.g. one that runs by name only) keeps its earlier figures.
  const measured = Object.entries(run.scenarios).filter(([k, v]) => !(v.skipped && latest.scenarios?.[k] && !latest.scenarios[k].skipped));
  const merged = { ...latest.scenarios, ...Object.fromEntries(measured.map(([k, v]) => [k, { ...v, date: run.date, commit: run.commit }])) };
  latest.scenarios = Object.fromEntries(Object.entries(merged).sort(([a], [b]) => rank(a) - rank(b)));
  Object.assign(latest, { date: run.date, commit: run.commit, machine: run.machine, versions: run.versions, quick: run.quick });
  writeFileSync(path.join(results, 'latest.json'), JSON.stringify(latest, null, 2) + '\n');
  const latestMd = markdown(latest);
  writeFileSync(path.join(results, 'latest.md'), latestMd);
  writeFileSync(path.join(results, 'latest.svg'), svg(latest));
  const readme = path.join(here, 'README.md');
  try {
    const text = readFileSync(readme, 'utf8');
    const start = '<!-- figures:start -->';
    const end = '<!-- figures:end -->';
    if (text.includes(start)) writeFileSync(readme, text.slice(0, text.indexOf(start) + start.length) + '\n' + latestMd + text.slice(text.indexOf(end)));
  } catch {}
}

for (const name of selected) {
  console.log(`scenario ${name}`);
  const mod = await import(`./scenarios/${name}.mjs`);
  const t0 = Date.now();
  try {
    const result = await mod.run({ quick, log });
    run.scenarios[name] = { description: mod.description, ...result, seconds: Math.round((Date.now() - t0) / 1000) };
    if (result.skipped) console.log(`  not run: ${result.skipped}`);
  } catch (err) {
    console.error(err);
    run.scenarios[name] = { description: mod.description, error: String(err?.message ?? err) };
  }
  save(); // after every scenario, so an interrupted run keeps what it measured
}

const md = markdown(run);
console.log('\n' + md);
console.log(`written: bench/results/${stamp}.json, .md${quick ? '' : ', latest.json, latest.md, latest.svg, bench/README.md'}`);
process.exit(0);
