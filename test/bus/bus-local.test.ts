import { LocalBus } from '../../src/bus/bus-local.js';
import { MemoryRegistry } from '../../src/registry/registry-memory.js';
import { busContract } from './bus.contract.js';

busContract('LocalBus', async () => ({ nodes: [{ nodeId: 'local', registry: new MemoryRegistry(), bus: new LocalBus() }] }), { maxNodes: 1 });
