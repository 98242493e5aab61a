// The load generator: several worker processes on the core the server does not use, driven
// together. Connections are spread over workers and over loopback source addresses
// 127.0.0.1 … 127.0.0.16, so no single address runs out of ephemeral ports.
import { execFileSync, fork } from 'node:child_process';
import * as hdr from 'hdr-histogram-js';
import { canPin, track } from './proc.mjs';

export const ADDRESSES = Array.from({ length: 16 }, (_, i) => `127.0.0.${i + 1}`);

export class LoadGenerator {
  constructor(workers = 2, core = 1) {
    this.workers = [];
    this.seq = 0;
    for (let i = 0; i < workers; i++) {
      const w = track(fork(new URL('./worker.mjs', import.meta.url), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
      if (canPin()) execFileSync('taskset', ['-cp', String(core), String(w.pid)], { stdio: 'ignore' });
      w.pending = new Map();
      w.on('message', (m) => {
        const p = w.pending.get(m.id);
        w.pending.delete(m.id);
        if (m.ok) p.resolve(m.result);
        else p.reject(new Error(`worker: ${m.error}`));
      });
      this.workers.push(w);
    }
  }

  /** Runs one command on one worker. */
  ask(w, cmd, args) {
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      w.pending.set(id, { resolve, reject });
      w.send({ id, cmd, args });
    });
  }

  /** Runs a command on every worker; `argsFor(i)` gives each its share. */
  all(cmd, argsFor = () => ({})) {
    return Promise.all(this.workers.map((w, i) => this.ask(w, cmd, argsFor(i))));
  }

  /** Opens `total` connections across the workers; returns every connection id when `whoami`. */
  async connect(url, total, whoami = false) {
    const n = this.workers.length;
    const res = await this.all('connect', (i) => ({ url, count: Math.floor(total / n) + (i < total % n ? 1 : 0), addresses: ADDRESSES.slice(i * (16 / n), (i + 1) * (16 / n)), whoami }));
    return res.flatMap((r) => r.ids);
  }

  async received() {
    return (await this.all('received')).reduce((a, r) => a + r.received, 0);
  }

  async close() {
    await this.all('close').catch(() => {});
    for (const w of this.workers) w.disconnect();
  }
}

/** Merges the workers' histograms (microseconds) and returns p50/p90/p99/p99.9/max in ms. */
export function latency(results) {
  const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  for (const r of results) h.add(hdr.decodeFromCompressedBase64(r.histogram));
  const ms = (p) => Math.round(h.getValueAtPercentile(p) / 10) / 100;
  return { p50: ms(50), p90: ms(90), p99: ms(99), p999: ms(99.9), max: Math.round(h.maxValue / 10) / 100 };
}
