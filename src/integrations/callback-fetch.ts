import { Agent, Dispatcher, getGlobalDispatcher, setGlobalDispatcher } from 'undici';

/**
 * The `fetch` half of the callback hook (callback-hook.ts): Node's global `fetch` (undici) does
 * not use node:http agents but the dispatcher stored under `Symbol.for('undici.globalDispatcher.1')`.
 * This one sends requests whose origin the hook claims to the gateway's listener and passes every
 * other request to the dispatcher that was there before. As with the agent hook, the request is
 * otherwise unchanged: its Host header stays the host the handler named (what SigV4 signed), and
 * with TLS off an https request is carried over plain HTTP.
 */

/** Where a claimed origin is sent. */
export interface FetchRoute {
  /** Host to connect to (an address of the gateway's listener). */
  host: string;
  port: number;
  /** The listener speaks TLS. */
  tls: boolean;
  /** TLS only: trusted CAs and the check that accepts the gateway's own certificate. */
  ca?: string[];
  checkServerIdentity?: (name: string, cert: import('node:tls').PeerCertificate) => Error | undefined;
}

/** What the hook asks of callback-hook.ts. */
export interface FetchHookDeps {
  /** The gateway that claims `host:port`, if any. */
  route(host: string, port: number): FetchRoute | undefined;
  /** Whether a host is an execute-api name (an unclaimed one that fails to resolve is reported). */
  isApiHost(host: string): boolean;
  /** Called when a request to an unclaimed execute-api name failed to resolve. */
  unresolved(host: string, code: string): void;
}

type DispatchOptions = Dispatcher.DispatchOptions;
type Headers = DispatchOptions['headers'];

/** The headers with `host` set to `host` unless the request names one already (a signed request does). */
function withHost(headers: Headers, host: string): Headers {
  if (headers === undefined || headers === null) return { host };
  if (Array.isArray(headers)) {
    // Flat [name, value, …] (undici's raw form) or [[name, value], …].
    const flat = headers.length > 0 && Array.isArray(headers[0]);
    for (let i = 0; i < headers.length; i += flat ? 1 : 2) {
      const name = flat ? (headers[i] as unknown as string[])[0] : headers[i];
      if (String(name).toLowerCase() === 'host') return headers;
    }
    return (flat ? [...headers, ['host', host]] : [...headers, 'host', host]) as Headers;
  }
  if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function' && typeof headers !== 'string') {
    const out: Record<string, string | string[]> = {};
    for (const [k, v] of headers as Iterable<[string, string | string[]]>) out[k] = v;
    return withHost(out, host);
  }
  for (const k of Object.keys(headers)) if (k.toLowerCase() === 'host') return headers;
  return { ...(headers as Record<string, string>), host };
}

/** A handler that reports a failed name lookup before passing the error on (old and new undici handler styles). */
function reporting(handler: Dispatcher.DispatchHandler, host: string, deps: FetchHookDeps): Dispatcher.DispatchHandler {
  const report = (err: unknown) => {
    const code = (err as { code?: string } | null)?.code;
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') deps.unresolved(host, code);
  };
  return new Proxy(handler, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if ((key === 'onError' || key === 'onResponseError') && typeof value === 'function') {
        return (...args: unknown[]) => {
          report(args[key === 'onError' ? 0 : 1]);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return value;
    },
  });
}

class CallbackDispatcher extends Dispatcher {
  /** Connections to the gateway, per gateway address and requested name (TLS checks that name). */
  private readonly agents = new Map<string, Agent>();

  constructor(
    readonly previous: Dispatcher,
    private readonly deps: FetchHookDeps,
  ) {
    super();
  }

  override dispatch(opts: DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const origin = opts.origin;
    if (origin !== undefined && origin !== null) {
      let url: URL | undefined;
      try {
        url = typeof origin === 'string' ? new URL(origin) : origin;
      } catch {
        url = undefined;
      }
      if (url !== undefined && (url.protocol === 'https:' || url.protocol === 'http:')) {
        const secure = url.protocol === 'https:';
        const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port);
        const route = this.deps.route(url.hostname, port);
        // http:// to a TLS listener is left as the handler wrote it, as the agent hook does.
        if (route !== undefined && (secure || !route.tls)) {
          return this.agentFor(route, url.hostname).dispatch({ ...opts, origin: `${route.tls ? 'https' : 'http'}://${route.host.includes(':') ? `[${route.host}]` : route.host}:${route.port}`, headers: withHost(opts.headers, url.host) }, handler);
        }
        if (this.deps.isApiHost(url.hostname)) return this.previous.dispatch(opts, reporting(handler, url.hostname, this.deps));
      }
    }
    return this.previous.dispatch(opts, handler);
  }

  private agentFor(route: FetchRoute, name: string): Agent {
    const key = `${route.host}|${route.port}|${route.tls ? name : ''}`;
    let agent = this.agents.get(key);
    if (agent === undefined) {
      const bare = name.startsWith('[') ? name.slice(1, -1) : name;
      const isIp = /^[\d.]+$/.test(bare) || bare.includes(':');
      agent = new Agent(route.tls ? { connect: { servername: isIp ? undefined : bare, ca: route.ca, checkServerIdentity: route.checkServerIdentity } } : {});
      this.agents.set(key, agent);
    }
    return agent;
  }

  override async close(): Promise<void> {
    await Promise.allSettled([...this.agents.values()].map((a) => a.close()));
    this.agents.clear();
  }

  override async destroy(): Promise<void> {
    await Promise.allSettled([...this.agents.values()].map((a) => a.destroy()));
    this.agents.clear();
  }
}

let installed: CallbackDispatcher | undefined;

/** Puts the callback dispatcher in front of the global one (once). */
export function patchFetch(deps: FetchHookDeps): void {
  if (installed) return;
  installed = new CallbackDispatcher(getGlobalDispatcher(), deps);
  setGlobalDispatcher(installed);
}

/** Puts the previous global dispatcher back, unless something has replaced ours since. */
export function unpatchFetch(): void {
  if (!installed) return;
  const hook = installed;
  installed = undefined;
  if (getGlobalDispatcher() === hook) setGlobalDispatcher(hook.previous);
  void hook.close();
}
