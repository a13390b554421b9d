/**
 * The shutdown budget: from a stop request (signal, `quit`, duration) to exit, the daemon idles the chips
 * first, gives pending submits what is left, and closes everything else. One constant, used by the code
 * (Miner.stop, the run loop's hard limit), the `--help` text, the README's systemd unit (TimeoutStopSec)
 * and the tests.
 */
export const SHUTDOWN_BUDGET_MS = 2000;

/** Time kept back from the budget for closing sockets, files and the process after the submits. */
export const SHUTDOWN_CLOSE_MS = 600;

/** The budget as the help text and README say it. */
export const SHUTDOWN_BUDGET_TEXT = `${SHUTDOWN_BUDGET_MS / 1000} s`;
