/**
 * Switchboard as a library: start the same gateway in-process, e.g. in your own integration tests.
 *
 *   import { createGateway } from 'switchboard';
 *   const gw = await createGateway({ config: { routes: { echo: { handler: './echo.ts#handler', routeResponse: true } } }, port: 0 });
 *   // … connect to gw.url, call the management API at gw.managementEndpoint …
 *   await gw.close();
 */
export { createGateway, type Gateway, type GatewayOptions } from './gateway.js';
export { ConfigError, loadConfigFile, validateConfig } from './config/load.js';
export { loadServerless, type ServerlessOptions, type LoadedServerless } from './config/serverless/index.js';
export type { Config, ConfigInput, RouteConfig, AuthorizerConfig } from './config/schema.js';
export type { ConnectEvent, MessageEvent, DisconnectEvent, AuthorizerEvent, RequestContext } from './events/events.js';
export type { ProxyResult } from './integrations/proxy-response.js';
