// Servers measured side by side: for comparisons between two configurations of the same server
// (metrics on / off), where the difference sought (3 %) is far below what separates two rounds
// run one after the other on this shared machine (up to a third).
import { LoadGenerator } from './loadgen.mjs';
import { sleep, threadCpuSplit } from './proc.mjs';
import { startScraper } from './scrape.mjs';
import { median, ratio, round } from './stats.mjs';

/**
 * Load before the first window, scrapes included. The goal is about a gateway's steady state, and
 * the first seconds are not: with a 10-second warm-up, the first window of every round (seconds
 * 10 to 15) showed the metrics-on echo server spending 1.5–1.9 µs per message off its main thread
 * (V8 compiling the scrape's code, the admin thread) against 0.4–0.5 µs in the next window, and
 * both push servers about 10 µs per request against 2 (the metrics-off one too: not metrics). Earlier still,
 * when the admin listener served on the gateway's thread, its first requests deoptimised code the
 * hot path shares with it.
 */
export const WARM_UP_S = 20;

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
 * - `quick`: one round of two 3-second windows instead of six rounds of two 5-second ones.
 *
 * Answers, for each kind after the first, the per-window ratios of its CPU per unit over the
 * first kind's and their median, and every kind's CPU per unit per window, in all and on threads
 * other than the main one (`otherThreads`: where an admin listener's thread and V8's helpers show).
 */
export async function sideBySide({ kinds, quick, start, prepare, window, log }) {
  // Six rounds of two windows rather than three of four: windows of one process pair move
  // together (a process keeps its luck), so the median gains more from more pairs than from
  // longer ones.
  const rounds = quick ? 1 : 6;
  const windows = 2;
  const seconds = quick ? 3 : 5;
  const perUnit = Object.fromEntries(kinds.map((k) => [k, []]));
  const otherThreads = Object.fromEntries(kinds.map((k) => [k, []]));
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
        const before = running.map((s) => threadCpuSplit(s.server.pid));
        const units = await Promise.all(running.map((s) => window(s.ctx, s.lg, seconds)));
        const after = running.map((s) => threadCpuSplit(s.server.pid));
        const cpu = running.map((_, i) => (after[i].main + after[i].other - before[i].main - before[i].other) / units[i]);
        const other = running.map((_, i) => (after[i].other - before[i].other) / units[i]);
        const at = (kind) => running.findIndex((s) => s.kind === kind);
        const of = (kind) => cpu[at(kind)];
        for (const k of kinds) {
          perUnit[k].push(round(of(k)));
          otherThreads[k].push(round(other[at(k)]));
        }
        for (const k of kinds.slice(1)) ratios[k].push(round(of(k) / of(kinds[0]), 4));
        log?.(`  side by side, round ${r + 1} window ${w + 1}: ${kinds.map((k) => `${k} ${round(of(k))} µs (${round(other[at(k)])} off the main thread)`).join(', ')}`);
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
  return { perUnit, otherThreads, ratios, medians: Object.fromEntries(Object.entries(ratios).map(([k, xs]) => [k, median(xs)])) };
}

/**
 * The goal's line for a side-by-side comparison: the median of the per-window ratios (not a
 * ratio of medians), shown beside each kind's median CPU per unit.
 */
export function pairedRatio(name, result, kind, base, goal) {
  const value = result.medians[kind];
  return { ...ratio(name, value, 1, goal, 'lower'), switchboard: round(median(result.perUnit[kind])), baseline: round(median(result.perUnit[base])), unit: 'µs' };
}

/**
 * For information beside the goal: how much more CPU per unit `kind` spends off the main thread
 * (an admin listener's thread, V8's compiler and GC helpers) than `base`, as a share of `base`'s
 * whole CPU per unit: the part of the goal's ratio above 1 that lands there (0.01 = 1 point of it).
 * The two medians shown are the CPU per unit off the main thread.
 */
export function otherThreadsLine(name, result, kind, base) {
  const on = median(result.otherThreads[kind]);
  const off = median(result.otherThreads[base]);
  return { name, value: round((on - off) / median(result.perUnit[base]), 4), goal: null, better: 'lower', met: null, switchboard: round(on), baseline: round(off), unit: 'µs' };
}
