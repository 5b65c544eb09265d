import { acknowledgedAcrossProcesses } from './matrix.js';

acknowledgedAcrossProcesses('PostgreSQL', 'cached stateful');
