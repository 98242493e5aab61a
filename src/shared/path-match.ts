/** Why a path's capture could not be used. */
export type PathProblem = { kind: 'malformed'; segment: string } | { kind: 'empty'; name: string };

/** How a listener matches its paths (make it once per listener: nothing is allocated per call). */
export interface PathMatchOptions {
  /** A literal segment also matches its percent-encoded form (`%40connections` for `@connections`). */
  encodedLiterals: boolean;
  /** A capture that decodes to '': the route does not match (`no-match`), or the path is refused (`invalid`). */
  emptyCapture: 'no-match' | 'invalid';
  /** The error thrown for a capture that cannot be used (e.g. a 400 in the listener's own error type). */
  invalid(problem: PathProblem): Error;
}

/**
 * Matches raw path segments against a pattern (`['@connections', ':connectionId']`): the captures,
 * percent-decoded, or null when the route does not match. Throws `opts.invalid(…)` for a capture
 * with malformed percent-encoding, and for an empty one when `emptyCapture` is `invalid`.
 */
export function matchPath(pattern: readonly string[], segments: readonly string[], opts: PathMatchOptions): Record<string, string> | null {
  if (pattern.length !== segments.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const s = segments[i]!;
    if (p.charCodeAt(0) === 58 /* : */) {
      let value: string;
      try {
        value = decodeURIComponent(s);
      } catch {
        throw opts.invalid({ kind: 'malformed', segment: s });
      }
      if (value === '') {
        if (opts.emptyCapture === 'no-match') return null;
        throw opts.invalid({ kind: 'empty', name: p.slice(1) });
      }
      params[p.slice(1)] = value;
    } else if (p !== s && !(opts.encodedLiterals && s.includes('%') && safeDecode(s) === p)) return null;
  }
  return params;
}

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}
