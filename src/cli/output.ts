import type { CloseResult, ConnectionDetails, ListedConnection, NodeInfo, SendResult } from '../client/index.js';

/** Where a command writes: stdout for results, stderr for notes (so `--json` output stays parseable). */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

export const processOutput: Output = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

/** Connections as an aligned table, one per line, with a header; `no connections` when empty. */
export function connectionTable(items: ListedConnection[]): string {
  if (items.length === 0) return 'no connections\n';
  const rows = [
    ['CONNECTION ID', 'PRINCIPAL', 'GROUPS', 'CONNECTED AT', 'LAST ACTIVE AT', 'SOURCE IP'],
    ...items.map((c) => [c.connectionId, c.principalId ?? '-', c.groups.length ? c.groups.join(',') : '-', c.connectedAt.toISOString(), c.lastActiveAt.toISOString(), c.identity.sourceIp]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

/** `nodes ls`: one row per node, the one that answered marked with `*`. */
export function nodeTable(nodes: NodeInfo[]): string {
  const rows = [
    ['NODE', 'STATE', 'CONNECTIONS', 'HOST', 'PID', 'STARTED AT'],
    ...nodes.map((n) => [`${n.nodeId}${n.self ? ' *' : ''}`, n.state, String(n.connections), n.host ?? '-', n.pid === undefined ? '-' : String(n.pid), n.startedAt === undefined ? '-' : new Date(n.startedAt).toISOString()]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

/** GetConnection's answer as `key: value` lines. */
export function connectionDetails(c: ConnectionDetails): string {
  return [
    `connectionId:  ${c.connectionId}`,
    `connectedAt:   ${c.connectedAt.toISOString()}`,
    `lastActiveAt:  ${c.lastActiveAt.toISOString()}`,
    `sourceIp:      ${c.identity.sourceIp}`,
    `userAgent:     ${c.identity.userAgent ?? '-'}`,
  ].join('\n') + '\n';
}

/** A fan-out's result: how many were sent to, then one line per recipient that was not. */
export function sendSummary(r: SendResult): string {
  const lines = [`sent to ${r.sent} connection${r.sent === 1 ? '' : 's'}${r.failed.length ? `, ${r.failed.length} failed` : ''}`];
  for (const f of r.failed) lines.push(`  ${f.connectionId}: ${FAIL_TEXT[f.reason]}`);
  return lines.join('\n') + '\n';
}

const FAIL_TEXT = { full: 'send buffer full', gone: 'gone', unknown: 'unknown (its node did not confirm in time)' } as const;

/** The members a bulk close could not confirm, one per line (empty when there are none). */
export function closeFailures(r: CloseResult): string {
  if (!r.failed?.length) return '';
  return [`${count(r.failed.length)} not confirmed (their node did not answer in time; repeating the close is safe):`, ...r.failed.map((f) => `  ${f.connectionId}: ${FAIL_TEXT[f.reason]}`)].join('\n') + '\n';
}

/** `N connection(s)`. */
export function count(n: number): string {
  return `${n} connection${n === 1 ? '' : 's'}`;
}

/** JSON on one line, Dates as ISO-8601. */
export function json(value: unknown): string {
  return JSON.stringify(value) + '\n';
}
