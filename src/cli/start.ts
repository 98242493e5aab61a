import { constants } from 'node:os';
import { ConfigError, loadConfigFile } from '../config/load.js';
import { createGateway } from '../gateway.js';
import { HandlerLoadError } from '../integrations/handler.js';
import { loadServerless, type LoadedServerless, type ServerlessOptions } from '../config/serverless/index.js';
import { serverlessSummary } from './serverless.js';

/** `switchboard start --config FILE [--port N] [--host H]` (or `--serverless …`): runs until SIGINT/SIGTERM, then drains. */
export async function start(opts: { config?: string; serverless?: ServerlessOptions; port?: number; host?: string }): Promise<number> {
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
  let imported: LoadedServerless | undefined;
  try {
    const { config, baseDir } = opts.serverless ? (imported = loadServerless(opts.serverless)) : await loadConfigFile(opts.config!);
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
      (imported ? serverlessSummary(imported, gw) : ''),
  );
  await stop;
  process.stdout.write(`Switchboard: draining (up to ${gw.config.shutdown.graceSeconds} s for running handlers; signal again to exit now)…\n`);
  await gw.close();
  return 0;
}
