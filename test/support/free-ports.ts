/** The port reservations of the runtime (runtime/dev/free-ports.ts), shared by tests, `imgroup dev` users and `imgroup bench`. */
export { getFreePortRange, getFreePorts } from '../../runtime/dev/free-ports.js';
