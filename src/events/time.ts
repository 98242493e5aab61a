const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

let cachedSecond = -1;
let cachedText = '';

/**
 * `requestTime` in AWS's CLF form (`24/Nov/2026:21:40:00 +0000`, UTC). Formatting a date per
 * message is wasteful, so the text is rebuilt only when the second changes.
 */
export function clfTime(epochMs: number): string {
  const second = Math.floor(epochMs / 1000);
  if (second !== cachedSecond) {
    const d = new Date(second * 1000);
    const p2 = (n: number) => (n < 10 ? '0' + n : String(n));
    cachedText =
      `${p2(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:` +
      `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} +0000`;
    cachedSecond = second;
  }
  return cachedText;
}
