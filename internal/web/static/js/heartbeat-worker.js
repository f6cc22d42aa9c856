// Ticks every 25 s from a worker, where background-tab timer throttling does
// not reach; the workbench sends a heartbeat event on each tick (SPEC §6.3).
const HEARTBEAT_MS = 25000;

setInterval(() => postMessage('beat'), HEARTBEAT_MS);
