import type { Gateway } from '../../src/index.js';

/** A Prometheus text scrape, parsed into samples. */
export class Scrape {
  readonly samples: Array<{ name: string; labels: Record<string, string>; value: number }> = [];

  constructor(readonly text: string) {
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
      const labels: Record<string, string> = {};
      for (const l of (m[2] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
      this.samples.push({ name: m[1]!, labels, value: Number(m[3]) });
    }
  }

  /** The sum of the samples of `name` whose labels include `labels`. */
  get(name: string, labels: Record<string, string> = {}): number {
    let sum = 0;
    for (const s of this.samples) if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) sum += s.value;
    return sum;
  }

  /** Whether a metric family of this name was exposed at all. */
  has(name: string): boolean {
    return this.text.includes(`# TYPE ${name} `);
  }
}

/** GET /metrics on the admin listener with the bearer token. */
export async function scrape(gw: Gateway, token: string): Promise<Scrape> {
  const res = await fetch(`${gw.adminUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${await res.text()}`);
  return new Scrape(await res.text());
}
