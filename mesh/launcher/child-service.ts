import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { createInterface } from "node:readline";
import { listeningAddresses, type ListeningAddresses } from "./listening-line.js";

export interface ChildServiceOptions {
  /** Name in messages and the log file's name ("registry", "inference-0"). */
  readonly name: string;
  /** The compiled entry point (dist/services/<name>/main.js). */
  readonly entry: string;
  /** Added to this process's environment. */
  readonly env: Readonly<Record<string, string>>;
  /** Every line the service writes (its JSON logs) is appended here. */
  readonly logFile: string;
  /** How long stop() waits after SIGTERM before SIGKILL. Default 15 s: above the services' 10 s drain. */
  readonly killAfterMs?: number;
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A service running as a child process of this one. */
export interface ChildService {
  readonly name: string;
  readonly logFile: string;
  readonly pid: number | undefined;
  /** Resolves with the ports it bound (from its "listening" log line); rejects if it exits first. */
  readonly listening: Promise<ListeningAddresses>;
  /** Resolves when the process ends, for whatever reason. */
  readonly exited: Promise<ExitStatus>;
  /** Whether stop() was called: an exit after it is expected. */
  readonly stopping: boolean;
  /** How it ended, once it has; undefined while it runs. */
  exitStatus(): ExitStatus | undefined;
  /** The last lines it wrote, for error messages. */
  recentOutput(): string;
  /** SIGTERM, then SIGKILL if it has not exited in time. Idempotent. */
  stop(): Promise<ExitStatus>;
}

const TAIL_LINES = 20;
const running = new Set<() => void>();
let exitHookInstalled = false;

/**
 * Starts `node <entry>` with its output streamed to a log file. Children
 * still running when this process exits are killed, so a crash of the
 * launcher never leaves services behind holding their ports.
 */
export function spawnChildService(options: ChildServiceOptions): ChildService {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", () => running.forEach((kill) => kill()));
  }
  const log = createWriteStream(options.logFile, { flags: "a" });
  const child = spawn(process.execPath, [options.entry], {
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group: Ctrl-C reaches only the launcher, which then stops the services in order.
    detached: true,
  });
  const kill = () => child.kill("SIGKILL");
  running.add(kill);

  const tail: string[] = [];
  let resolveListening: (addresses: ListeningAddresses) => void = () => {};
  let rejectListening: (error: Error) => void = () => {};
  const listening = new Promise<ListeningAddresses>((resolve, reject) => {
    resolveListening = resolve;
    rejectListening = reject;
  });
  // Callers that only await `exited` must not see an unhandled rejection.
  listening.catch(() => {});

  const onLine = (line: string) => {
    log.write(line + "\n");
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    const addresses = listeningAddresses(line);
    if (addresses) resolveListening(addresses);
  };
  if (child.stdout) createInterface({ input: child.stdout, crlfDelay: Infinity }).on("line", onLine);
  if (child.stderr) createInterface({ input: child.stderr, crlfDelay: Infinity }).on("line", onLine);

  let spawnFailed: ExitStatus | undefined;
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once("error", (error) => {
      onLine(`could not start ${process.execPath} ${options.entry}: ${error.message}`);
      spawnFailed = { code: 1, signal: null };
      resolve(spawnFailed);
    });
    // "close", not "exit": by then the output has been read to its end, so the log tail is whole.
    child.once("close", (code, signal) => resolve({ code, signal }));
  }).then((status) => {
    running.delete(kill);
    rejectListening(new Error(`${options.name} exited (${describeExit(status)}) before it was listening`));
    return new Promise<ExitStatus>((resolve) => log.end(() => resolve(status)));
  });

  let stopping = false;
  let stopped: Promise<ExitStatus> | undefined;
  return {
    name: options.name,
    logFile: options.logFile,
    pid: child.pid,
    listening,
    exited,
    get stopping() {
      return stopping;
    },
    exitStatus: () => (child.exitCode !== null || child.signalCode !== null ? { code: child.exitCode, signal: child.signalCode } : spawnFailed),
    recentOutput: () => tail.join("\n"),
    stop: () =>
      (stopped ??= (async () => {
        stopping = true;
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
        const force = setTimeout(kill, options.killAfterMs ?? 15_000);
        force.unref();
        const status = await exited;
        clearTimeout(force);
        return status;
      })()),
  };
}

/** "code 1" or "signal SIGKILL". */
export function describeExit(status: ExitStatus): string {
  return status.signal ? `signal ${status.signal}` : `code ${status.code ?? "?"}`;
}
