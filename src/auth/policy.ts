/**
 * Evaluates the IAM policy document a Lambda authorizer returns, for one action on one
 * resource, the way API Gateway does: an explicit Deny wins, an Allow is needed, no match is a
 * deny. `*` and `?` are wildcards in Action and Resource; actions compare case-insensitively.
 */
export type PolicyDecision = { effect: 'allow' } | { effect: 'deny'; explicit: boolean } | { effect: 'malformed'; reason: string };

interface Statement {
  Effect?: unknown;
  Action?: unknown;
  Resource?: unknown;
}

const globCache = new Map<string, RegExp>();

function glob(pattern: string, caseInsensitive: boolean): RegExp {
  const key = `${caseInsensitive ? 'i' : 's'}${pattern}`;
  let re = globCache.get(key);
  if (re === undefined) {
    const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
    re = new RegExp(`^${body}$`, caseInsensitive ? 'i' : '');
    if (globCache.size > 1000) globCache.clear();
    globCache.set(key, re);
  }
  return re;
}

function list(v: unknown): string[] | null {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string')) return v as string[];
  return null;
}

export function evaluatePolicy(doc: unknown, action: string, resource: string): PolicyDecision {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return { effect: 'malformed', reason: 'policyDocument must be an object' };
  const raw = (doc as { Statement?: unknown }).Statement;
  const statements = Array.isArray(raw) ? raw : raw !== undefined && raw !== null && typeof raw === 'object' ? [raw] : null;
  if (statements === null || statements.length === 0) return { effect: 'malformed', reason: 'policyDocument.Statement must be a statement or a non-empty list of them' };
  let allowed = false;
  for (const st of statements as Statement[]) {
    if (st === null || typeof st !== 'object') return { effect: 'malformed', reason: 'every Statement must be an object' };
    const effect = typeof st.Effect === 'string' ? st.Effect.toLowerCase() : '';
    if (effect !== 'allow' && effect !== 'deny') return { effect: 'malformed', reason: `Statement Effect must be "Allow" or "Deny", got ${JSON.stringify(st.Effect)}` };
    const actions = list(st.Action);
    const resources = list(st.Resource);
    if (actions === null) return { effect: 'malformed', reason: 'Statement Action must be a string or a list of strings' };
    if (resources === null) return { effect: 'malformed', reason: 'Statement Resource must be a string or a list of strings' };
    const matches = actions.some((a) => glob(a, true).test(action)) && resources.some((r) => glob(r, false).test(resource));
    if (!matches) continue;
    if (effect === 'deny') return { effect: 'deny', explicit: true };
    allowed = true;
  }
  return allowed ? { effect: 'allow' } : { effect: 'deny', explicit: false };
}
