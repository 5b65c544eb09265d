import { createMemoryStore } from '../../packages/tessera-auth/src/stores/memory.js';
import { describeServerStoreConformance, describeStoreConformance } from '../../packages/tessera-auth/src/testing/store-conformance.js';

const open = async () => createMemoryStore();
describeStoreConformance('memory', open);
describeServerStoreConformance('memory', open);
