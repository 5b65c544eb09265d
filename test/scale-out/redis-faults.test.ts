import { describeStoreFaults } from './store-faults.js';

// Redis stops, freezes and drops one instance's feed connection under load (see store-faults.ts).
describeStoreFaults('redis');
