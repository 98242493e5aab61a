import { randomBytes } from 'node:crypto';
import { constants } from 'node:os';
import { loadTemplateForCli } from '../config/cloudformation/index.js';
import { ConfigError, loadConfigFile } from '../config/load.js';
import type { Config, ConfigInput } from '../config/schema.js';
import { createGateway } from '../gateway.js';
import { HandlerLoadError } from '../integrations/handler.js';
import { loadServerless, type LoadedServerless, type ServerlessOptions } from '../config/serverless/index.js';
import { selfSignedCertificate } from './self-signed.js';
import { serverlessSummary } from './serverless.js';
import { watchHandlers } from './watch.js';

/**
 * `switchboard start --config FILE [--port N] [--host H] [--tls-self-signed] [--watch]`, or `--template FILE [--parameter K=V]…
 * [--api ID]` (a SAM / CloudFormation / CDK template; `--config` then overrides its keys), or `--serverless …`:
 * runs until SIGINT/SIGTERM, then drains.
 */
export async function start(opts: { config?: string; serverless?: ServerlessOptions; port?: number; host?: string; template?: string; parameters?: string[]; api?: string; tlsSelfSigned?: boolean; watch?: boolean }): Promise<number> {
  // Listen for signals before anything else, so one that arrives during startup still drains;
  // a second signal while draining exits at once (128 + its number, as a shell reports it).
  const stop = new Promise<void>((resolve) => {
    const onSignal = () => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      const force = (signal: NodeJS.Signals) => {
        process.stderr.write(`switchboard: ${signal} while draining: exiting now\n`);
        process.exit(128 + (constants.signals[signal] ?? 2));
      };
      process.once('SIGINT', force);
      process.once('SIGTERM', force);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  let gw;
  let generatedAdminToken: string | undefined;
  let trustFile: string | undefined;
  let imported: LoadedServerless | undefined;
  try {
    let loaded: { config: ConfigInput | Config; baseDir: string };
    if (opts.serverless) loaded = imported = loadServerless(opts.serverless);
    else if (opts.template !== undefined) {
      const fromTemplate = await loadTemplateForCli({ template: opts.template, parameters: opts.parameters, config: opts.config, api: opts.api });
      for (const w of fromTemplate.warnings) process.stderr.write(`switchboard: note: ${w}\n`);
      loaded = fromTemplate;
    } else loaded = await loadConfigFile(opts.config!);
    const { config, baseDir } = loaded;
    if (opts.tlsSelfSigned) {
      const generated = await selfSignedCertificate(config.region ?? 'us-east-1', config.domainName);
      config.tls = { cert: generated.cert, key: generated.key };
      trustFile = generated.cert;
    }
    const admin = config.admin as { token?: string | undefined } | undefined;
    if (admin && admin.token === undefined) {
      // An admin listener nobody can scrape is of little use: a token for this run, printed below.
      admin.token = generatedAdminToken = randomBytes(24).toString('base64url');
    }
    gw = await createGateway({ config, baseDir, port: opts.port, host: opts.host });
  } catch (err) {
    if (err instanceof ConfigError || err instanceof HandlerLoadError) {
      process.stderr.write(`switchboard: ${err.message}\n`);
      return 2;
    }
    const code = (err as { code?: string }).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      process.stderr.write(`switchboard: cannot listen: ${(err as Error).message}\n`);
      return 1;
    }
    throw err;
  }
  const auth = gw.config.management.auth === 'none' ? 'NO AUTHENTICATION (management.auth: none)' : 'SigV4, service execute-api';
  // The first line is the contract scripts parse; keep its shape.
  process.stdout.write(
    `Switchboard listening on ${gw.url}\n` +
      `  management API: ${gw.managementEndpoint}/@connections/{connectionId} (${auth})\n` +
      `  connect:        npx wscat -c ${gw.url}\n` +
      (gw.adminUrl
        ? `  admin:          ${gw.adminUrl} (/metrics with the admin token; /health, /ready open)\n` +
          (generatedAdminToken ? `  admin token:    ${generatedAdminToken} (generated for this run; set admin.token or ADMIN_TOKEN to choose one)\n` : '')
        : '') +
      (trustFile ? `  trust it:       NODE_EXTRA_CA_CERTS=${trustFile} (self-signed certificate for localhost, 127.0.0.1, ::1 and *.execute-api.${gw.config.region}.amazonaws.com)\n` : '') +
      (imported ? serverlessSummary(imported, gw) : ''),
  );
  const watcher = opts.watch ? watchHandlers({ logger: gw.logger, workers: gw.workers }) : undefined;
  await stop;
  watcher?.close();
  process.stdout.write(`Switchboard: draining (up to ${gw.config.shutdown.graceSeconds} s for running handlers; signal again to exit now)…\n`);
  await gw.close();
  return 0;
}
