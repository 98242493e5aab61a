/** An access key the gateway accepts on SigV4-signed requests. */
export interface Credential {
  accessKeyId: string;
  secretAccessKey: string;
  /** When set, requests made with this key must carry exactly this `x-amz-security-token`. */
  sessionToken?: string;
}

/** In-memory lookup of accepted access keys, by access key id. */
export class CredentialStore {
  private readonly byKey = new Map<string, Readonly<Credential>>();

  constructor(list: Credential[]) {
    for (const c of list) this.add(c);
  }

  /** The credential for this access key id, or undefined when unknown. */
  get(accessKeyId: string): Readonly<Credential> | undefined {
    return this.byKey.get(accessKeyId);
  }

  get size(): number {
    return this.byKey.size;
  }

  /** Adds or replaces a key. Stored as a frozen copy: the verifier caches its signer per stored object, so a later change must come in as a new object. */
  add(c: Credential): void {
    const copy: Credential = { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey };
    if (c.sessionToken !== undefined) copy.sessionToken = c.sessionToken;
    this.byKey.set(c.accessKeyId, Object.freeze(copy));
  }
}
