import { acknowledgedAcrossProcesses } from './matrix.js';

acknowledgedAcrossProcesses('Redis', 'stateless');
