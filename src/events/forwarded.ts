import { BlockList, isIP } from 'node:net';

/**
 * `trustProxy`: the proxies in front of the gateway whose X-Forwarded-* headers are believed.
 * Entries are single addresses (`10.0.0.1`, `::1`) or CIDR blocks (`10.0.0.0/8`, `fd00::/8`).
 */

/** Why a `trustProxy` entry is invalid, or undefined when it is valid. */
export function trustEntryError(entry: string): string | undefined {
  const slash = entry.indexOf('/');
  const ip = slash === -1 ? entry : entry.slice(0, slash);
  const family = isIP(ip);
  if (family === 0) return `"${entry}" is not an IP address or CIDR block`;
  if (slash === -1) return undefined;
  const bits = entry.slice(slash + 1);
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return `"${entry}" has an invalid prefix length (0-${max})`;
  return undefined;
}

/** An address as written in X-Forwarded-For (`1.2.3.4`, `1.2.3.4:5678`, `[::1]:443`, `::1`) → the bare IP, or undefined. */
export function forwardedAddress(text: string): string | undefined {
  let t = text.trim();
  if (t.startsWith('[')) t = t.slice(1, t.indexOf(']') === -1 ? t.length : t.indexOf(']'));
  else if (t.indexOf(':') !== -1 && t.indexOf(':') === t.lastIndexOf(':')) t = t.slice(0, t.indexOf(':')); // IPv4 with a port
  if (t.startsWith('::ffff:') && isIP(t.slice(7)) === 4) t = t.slice(7);
  return isIP(t) === 0 ? undefined : t;
}

export class TrustProxy {
  private readonly list = new BlockList();
  readonly empty: boolean;

  /** `entries` were validated by the schema (trustEntryError). */
  constructor(entries: readonly string[]) {
    this.empty = entries.length === 0;
    for (const e of entries) {
      const slash = e.indexOf('/');
      const ip = slash === -1 ? e : e.slice(0, slash);
      const type = isIP(ip) === 4 ? 'ipv4' : 'ipv6';
      if (slash === -1) this.list.addAddress(ip, type);
      else this.list.addSubnet(ip, Number(e.slice(slash + 1)), type);
    }
  }

  /** Whether `ip` (a bare address) is one of the trusted proxies. */
  trusts(ip: string): boolean {
    if (this.empty) return false;
    const family = isIP(ip);
    return family !== 0 && this.list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
  }

  /**
   * The client's address behind trusted proxies: X-Forwarded-For read from the right, skipping
   * trusted hops; the first untrusted address is the client. An entry that is not an address
   * stops the walk (what lies left of it cannot be believed) and the last good hop is kept.
   */
  clientAddress(peer: string, forwardedFor: readonly string[]): string {
    let candidate = peer;
    for (let i = forwardedFor.length - 1; i >= 0; i--) {
      const hops = forwardedFor[i]!.split(',');
      for (let j = hops.length - 1; j >= 0; j--) {
        const ip = forwardedAddress(hops[j]!);
        if (ip === undefined) return candidate;
        candidate = ip;
        if (!this.trusts(ip)) return candidate;
      }
    }
    return candidate;
  }
}
