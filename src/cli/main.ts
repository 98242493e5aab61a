#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { isManagementCommand, MANAGEMENT_USAGE, runManagementCommand } from './commands.js';
import { serverlessArgs, serverlessOptions, SERVERLESS_OPTIONS } from './serverless.js';

const USAGE = `usage: switchboard <command> [options]

commands:
  start --config FILE [--port N] [--host H]   run the gateway (--port 0 picks a free port)
  start --template FILE [--parameter K=V]… [--api ID] [--config FILE]
                                              run a SAM / CloudFormation / CDK (cdk.out) template's WebSocket API;
                                              --config then holds keys written over the template's
  start --serverless [PATH] [--stage S] [--region R] [--param K=V]… [--set KEY.PATH=V]… [--offline | --no-offline]
                                              run a Serverless Framework project's websocket functions
                                              (PATH: serverless.yml or its folder, default "."; --offline:
                                              serverless-offline's port and URLs, default when the project uses it)
  start … --tls-self-signed                   serve wss:// and https:// with a generated local certificate
  start … --watch                             reload changed handler modules without dropping connections
  help                                        show this text

${MANAGEMENT_USAGE}`;

/** Parses a port flag; exits with a clear message when it is not a port. */
function port(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535) {
    process.stderr.write(`switchboard: --port expects a number from 0 to 65535, got "${text}"\n`);
    process.exit(2);
  }
  return n;
}

/** The gateway is loaded only for `start`: management commands and help stay quick to launch. */
async function start(options: Parameters<typeof import('./start.js').start>[0]): Promise<number> {
  return (await import('./start.js')).start(options);
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start': {
      const { values } = parseArgs({ args: serverlessArgs(rest), options: { config: { type: 'string', short: 'c' }, port: { type: 'string', short: 'p' }, host: { type: 'string' }, template: { type: 'string', short: 't' }, parameter: { type: 'string', multiple: true }, api: { type: 'string' }, 'tls-self-signed': { type: 'boolean' }, watch: { type: 'boolean' }, ...SERVERLESS_OPTIONS } });
      if (values.serverless !== undefined) {
        if (values.config) {
          process.stderr.write('switchboard: give --config or --serverless, not both\n');
          return 2;
        }
        const serverless = serverlessOptions(values);
        if (typeof serverless === 'string') {
          process.stderr.write(`switchboard: ${serverless}\n`);
          return 2;
        }
        return start({ serverless, port: port(values.port), host: values.host, tlsSelfSigned: values['tls-self-signed'], watch: values.watch });
      }
      if (values.stage !== undefined || values.region !== undefined || values.param || values.set || values.offline || values['no-offline']) {
        process.stderr.write('switchboard: --stage, --region, --param, --set and --offline apply to --serverless projects only\n');
        return 2;
      }
      if (!values.config && !values.template) {
        process.stderr.write(`switchboard: start needs --config FILE, --template FILE or --serverless [PATH]\n\n${USAGE}`);
        return 2;
      }
      if (!values.template && (values.parameter || values.api)) {
        process.stderr.write(`switchboard: --parameter and --api go with --template FILE\n`);
        return 2;
      }
      return start({ config: values.config, port: port(values.port), host: values.host, template: values.template, parameters: values.parameter, api: values.api, tlsSelfSigned: values['tls-self-signed'], watch: values.watch });
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      if (isManagementCommand(command)) return runManagementCommand(command!, rest);
      process.stderr.write(`switchboard: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`switchboard: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
