// Servers measured side by side: for comparisons between two configurations of the same server
// (metrics on / off), where the difference sought (3 %) is far below what separates two rounds
// run one after the other on this shared machine (up to a third).
import { LoadGenerator } from './loadgen.mjs';
import { sleep, threadCpuMicros } from './proc.mjs';
import { startScraper } from './scrape.mjs';
import { median, ratio, round } from './stats.mjs';

/**
 * Load before the first window, scrapes included: the first requests to the admin listener
 * deoptimise code the hot path shares with it (sockets and streams, and node:http's for a push;
 * seen with --trace-deopt), and with a 2 s warm-up the first windows of a round ran dearer (up to
 * 10 %) than the later ones. A gateway runs for hours; the goal is about its steady state.
 */
export const WARM_UP_S = 10;

/**
 * Runs one server of each kind at the same time, all pinned to the server core, each under its
 * own load generator at the same paced rate, and reads their CPU time over the same windows:
 * whatever the machine does during a window (neighbours, frequency) hits every kind alike, so
 * the per-window ratio of CPU per unit of work is steady where sequential rounds are not. Each
 * round starts fresh servers, in alternating order, so no kind keeps a lucky process.
 *
 * - `start(kind)`: a server ({ pid, stop, adminUrl? }), as startSwitchboard answers; one with an
 *   admin listener is scraped every second from before its warm-up on.
 * - `prepare(server, lg)`: connects the clients; answers a context for `window`.
 * - `window(ctx, lg, seconds)`: paced load for `seconds`; answers the units of work done. It
 *   also runs the warm-up (`WARM_UP_S`).
 * - `quick`: one round of two 3-second windows instead of three rounds of four 5-second ones.
 *
 * Answers, for each kind after the first, the per-window ratios of its CPU per unit over the
 * first kind's and their median, and every kind's CPU per unit per window.
 */
export async function sideBySide({ kinds, quick, start, prepare, window, log }) {
  const rounds = quick ? 1 : 3;
  const windows = quick ? 2 : 4;
  const seconds = quick ? 3 : 5;
  const perUnit = Object.fromEntries(kinds.map((k) => [k, []]));
  const ratios = Object.fromEntries(kinds.slice(1).map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? [...kinds].reverse() : kinds;
    const running = [];
    try {
      for (const kind of order) {
        const server = await start(kind);
        const lg = new LoadGenerator(1);
        running.push({ kind, server, lg });
      }
      for (const s of running) {
        s.stopScraper = s.server.adminUrl ? startScraper(s.server.adminUrl) : null;
        s.ctx = await prepare(s.server, s.lg);
      }
      await Promise.all(running.map((s) => window(s.ctx, s.lg, WARM_UP_S)));
      for (let w = 0; w < windows; w++) {
        const before = running.map((s) => threadCpuMicros(s.server.pid));
        const units = await Promise.all(running.map((s) => window(s.ctx, s.lg, seconds)));
        const cpu = running.map((s, i) => (threadCpuMicros(s.server.pid) - before[i]) / units[i]);
        const of = (kind) => cpu[running.findIndex((s) => s.kind === kind)];
        for (const k of kinds) perUnit[k].push(round(of(k)));
        for (const k of kinds.slice(1)) ratios[k].push(round(of(k) / of(kinds[0]), 4));
        log?.(`  side by side, round ${r + 1} window ${w + 1}: ${kinds.map((k) => `${k} ${round(of(k))} µs`).join(', ')}`);
      }
    } finally {
      let failed;
      for (const s of running) {
        try {
          await s.stopScraper?.();
        } catch (err) {
          failed ??= err; // reported once every server is stopped
        }
        await s.lg.close();
        await s.server.stop();
      }
      await sleep(300);
      if (failed) throw failed;
    }
  }
  return { perUnit, ratios, medians: Object.fromEntries(Object.entries(ratios).map(([k, xs]) => [k, median(xs)])) };
}

/**
 * The goal's line for a side-by-side comparison: the median of the per-window ratios (not a
 * ratio of medians), shown beside each kind's median CPU per unit.
 */
export function pairedRatio(name, result, kind, base, goal) {
  const value = result.medians[kind];
  return { ...ratio(name, value, 1, goal, 'lower'), switchboard: round(median(result.perUnit[kind])), baseline: round(median(result.perUnit[base])), unit: 'µs' };
}
