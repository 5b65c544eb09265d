import { describeStoreFaults } from './store-faults.js';

// PostgreSQL stops, freezes and drops one instance's feed connection under load (see store-faults.ts).
describeStoreFaults('postgres');
