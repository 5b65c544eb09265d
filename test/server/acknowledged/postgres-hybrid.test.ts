import { acknowledgedAcrossProcesses } from './matrix.js';

acknowledgedAcrossProcesses('PostgreSQL', 'hybrid');
