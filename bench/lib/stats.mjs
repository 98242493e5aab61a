/** Median of numbers. */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Measures servers in alternating order, round after round (A B, then B A), so that drift on a
 * shared machine hits each alike. `measure(kind)` returns one measurement (log it there); the
 * answer maps each kind to its measurements, in the order taken (plain data, for the JSON).
 */
export async function alternate(rounds, kinds, measure) {
  const runs = Object.fromEntries(kinds.map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    for (const kind of r % 2 ? [...kinds].reverse() : kinds) runs[kind].push(await measure(kind));
  }
  return runs;
}

/** The median of one figure over a kind's measurements from `alternate`. */
export const medianOf = (runs, kind, figure) => median(runs[kind].map(figure));

/** Rounds to `d` significant decimals for reports. */
export const round = (x, d = 2) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x);

/**
 * A ratio to report: Switchboard's figure over the baseline's, with the goal it is held to.
 * `better: 'higher'` means the ratio must be ≥ goal; 'lower' means ≤ goal. A `goal` of null
 * marks a ratio shown for information only (`met` is null).
 */
export function ratio(name, sb, base, goal, better, unit = '') {
  const value = round(sb / base, 3);
  return { name, value, goal, better, met: goal === null ? null : better === 'higher' ? value >= goal : value <= goal, switchboard: round(sb), baseline: round(base), unit };
}
