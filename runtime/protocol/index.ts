export * from './errors.js';
export * from './ids.js';
export * from './client-frames.js';
export * from './internal-frames.js';
export * from './membership.js';
export * from './admin.js';
