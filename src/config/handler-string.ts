import { ConfigError } from './load.js';

/**
 * Turns a Lambda handler string (`src/handlers/chat.connect`, `index.handlers.send`) into a
 * Switchboard handler reference (`src/handlers/chat#connect`, `index#handlers.send`), by
 * Lambda's own rule: the last path segment splits at its first dot into the module and the
 * (possibly nested) export path. The module keeps no extension: the loader probes for it as
 * Lambda does (`.js`, `.mjs`, `.cjs`, then TypeScript sources). `where` names the key in errors.
 */
export function fromLambdaHandler(handler: string, where: string): string {
  // Lambda refuses `..` anywhere in a handler string.
  if (handler.includes('..')) throw new ConfigError(`${where}: handler "${handler}" may not contain ".."`);
  const slash = handler.lastIndexOf('/');
  const dir = handler.slice(0, slash + 1);
  const base = handler.slice(slash + 1);
  const dot = base.indexOf('.');
  if (dot <= 0 || dot === base.length - 1) throw new ConfigError(`${where}: handler "${handler}" is not MODULE.EXPORT (as Lambda expects, e.g. src/handler.connect)`);
  const exportPath = base.slice(dot + 1);
  if (!/^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/.test(exportPath)) throw new ConfigError(`${where}: handler "${handler}": "${exportPath}" is not an export name or a dotted path of names`);
  return `${dir}${base.slice(0, dot)}#${exportPath}`;
}
