import { createHash, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

/** Where `--tls-self-signed` keeps its certificates: SWITCHBOARD_CACHE_DIR, else $XDG_CACHE_HOME/switchboard, else ~/.cache/switchboard. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.SWITCHBOARD_CACHE_DIR || path.join(env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'switchboard');
}

/** The names a local certificate must cover: this machine, the configured domainName, and this region's execute-api hostnames. */
export function certificateNames(region: string, domainName: string | undefined): { dns: string[]; ips: string[] } {
  const dns = ['localhost', `*.execute-api.${region}.amazonaws.com`];
  const ips = ['127.0.0.1', '::1'];
  if (domainName) {
    const host = domainName.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    if (/^[\d.]+$/.test(host) || host.includes(':')) {
      if (!ips.includes(host)) ips.push(host);
    } else if (!dns.includes(host)) dns.push(host);
  }
  return { dns, ips };
}

/**
 * A development certificate for `--tls-self-signed`: reused from the cache while it covers the
 * names and has more than a day left, else generated (self-signed, RSA 2048, SHA-256, one year)
 * and written there (key readable by the owner only). Returns the PEM files' paths.
 */
export async function selfSignedCertificate(region: string, domainName: string | undefined, dir = cacheDir()): Promise<{ cert: string; key: string; generated: boolean }> {
  const names = certificateNames(region, domainName);
  const id = createHash('sha256').update(JSON.stringify(names)).digest('hex').slice(0, 12);
  const tlsDir = path.join(dir, 'tls');
  const cert = path.join(tlsDir, `switchboard-${id}.crt.pem`);
  const key = path.join(tlsDir, `switchboard-${id}.key.pem`);
  try {
    const x = new X509Certificate(readFileSync(cert));
    readFileSync(key);
    if (Date.parse(x.validTo) - Date.now() > 86_400_000) return { cert, key, generated: false };
  } catch {
    // none yet (or unreadable): generate
  }
  const { generate } = await import('selfsigned');
  const notBeforeDate = new Date(Date.now() - 60_000);
  const pems = await generate([{ name: 'commonName', value: 'Switchboard local development' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate: new Date(notBeforeDate.getTime() + 365 * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [...names.dns.map((value) => ({ type: 2 as const, value })), ...names.ips.map((ip) => ({ type: 7 as const, ip }))] },
    ],
  });
  mkdirSync(tlsDir, { recursive: true, mode: 0o700 });
  writeFileSync(key, pems.private, { mode: 0o600 });
  writeFileSync(cert, pems.cert);
  return { cert, key, generated: true };
}
