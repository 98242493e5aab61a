// SigV4 signing for the push scenario, as the AWS SDK does it (service execute-api).
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

export const BENCH_CREDS = { accessKeyId: 'AKIDBENCH', secretAccessKey: 'benchsecret' };

export function signer() {
  const s = new SignatureV4({ credentials: BENCH_CREDS, region: 'us-east-1', service: 'execute-api', sha256: Hash.bind(null, 'sha256') });
  /** Headers for a signed POST of `body` to `path` on `host` (host:port). */
  return async (host, path, body) => {
    const [hostname, port] = host.split(':');
    const req = new HttpRequest({ method: 'POST', hostname, port: Number(port), path, headers: { host, 'content-type': 'application/octet-stream', 'content-length': String(Buffer.byteLength(body)) }, body });
    return (await s.sign(req)).headers;
  };
}
