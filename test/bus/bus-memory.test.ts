import { MemoryBusNetwork } from '../../src/bus/bus-memory.js';
import { MemoryRegistry } from '../../src/registry/registry-memory.js';
import { busContract } from './bus.contract.js';

busContract(
  'MemoryBusNetwork',
  async (n) => {
    const registry = new MemoryRegistry();
    const network = new MemoryBusNetwork({ registry, requestTimeoutMs: 100 });
    return {
      nodes: Array.from({ length: n }, (_, i) => ({ nodeId: `node-${i}`, registry, bus: network.node(`node-${i}`) })),
      setUnresponsive: (i, on) => network.setUnresponsive(`node-${i}`, on),
    };
  },
  { maxNodes: 3 },
);
