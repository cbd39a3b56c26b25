import { spawn } from 'node:child_process';
import type { Logger } from 'pino';

/**
 * The controller under systemd (`Type=notify`, `WatchdogSec=`): READY=1 once the API listens, WATCHDOG=1 every
 * half watchdog period while the event loop runs, STOPPING=1 on shutdown, STATUS= a short line for
 * `systemctl status`. Nothing at all without NOTIFY_SOCKET (the demo, the tests, a terminal).
 *
 * Node cannot send on a unix datagram socket, so each message is sent by the `systemd-notify` binary (part of
 * systemd). Its messages come from its own PID, hence `NotifyAccess=all` in the unit; it waits for systemd to
 * have read them (the barrier: a message from a process that already exited could not be told apart from
 * another unit's). It runs as a child process, never blocking the event loop.
 */

export interface NotifyHealth {
  readonly hardware: string;
  readonly mqtt: string;
  readonly storage?: string;
}

/** The STATUS= line: `board ok, MQTT connected`, plus the storage when it fails. */
export function statusLine(health: NotifyHealth): string {
  return `board ${health.hardware}, MQTT ${health.mqtt}${health.storage && health.storage !== 'ok' ? `, storage ${health.storage}` : ''}`;
}

/**
 * The watchdog period asked for, in ms, or null: WATCHDOG_USEC set to a positive number, and WATCHDOG_PID
 * (when set) naming this process — systemd sets it for the main process only.
 */
export function watchdogPeriodMs(env: NodeJS.ProcessEnv, pid = process.pid): number | null {
  const usec = Number(env.WATCHDOG_USEC);
  if (!env.WATCHDOG_USEC || !Number.isFinite(usec) || usec <= 0) return null;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return null;
  return usec / 1000;
}

export interface SystemdNotifier {
  /** READY=1 with the status; then the watchdog pings start (when systemd asked for them). */
  ready(status: () => string): void;
  /** STOPPING=1; resolves once sent, or after a short wait at most (the stop goes on regardless). */
  stopping(): Promise<void>;
}

export interface NotifierOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** `systemd-notify` by default (found on PATH). */
  readonly binary?: string;
  /** The longest the stop waits for STOPPING=1 to be taken. */
  readonly stopWaitMs?: number;
}

/** A notifier when systemd asked for notifications (NOTIFY_SOCKET is set), else null. */
export function systemdNotifier(logger: Logger, options: NotifierOptions = {}): SystemdNotifier | null {
  const env = options.env ?? process.env;
  if (!env.NOTIFY_SOCKET) return null;
  const binary = options.binary ?? 'systemd-notify';
  const periodMs = watchdogPeriodMs(env);
  let absent = false;
  let complained = false;
  let lastStatus = '';
  let pings: NodeJS.Timeout | undefined;

  const complainOnce = (message: string) => {
    if (complained) return logger.debug({ binary }, message);
    complained = true;
    logger.warn({ binary }, message);
  };

  const send = (assignments: string[]): Promise<void> => new Promise((resolve) => {
    if (absent) return resolve();
    const child = spawn(binary, assignments, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let failed = false;
    child.stderr!.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    child.on('error', (error: NodeJS.ErrnoException) => {
      failed = true;
      if (error.code !== 'ENOENT') complainOnce(`${binary} could not be started: ${error.message}`);
      else if (!absent) {
        absent = true;
        clearInterval(pings);
        logger.error({ binary }, `NOTIFY_SOCKET is set but ${binary} was not found (it comes with systemd): systemd is not told the controller is ready or alive, so a Type=notify unit will time out and restart it`);
      }
      resolve();
    });
    child.on('close', (code) => {
      if (!failed && code !== 0 && code !== null) complainOnce(`${binary} ${assignments[0]} exited with ${code}: ${stderr.trim() || 'no message'}`);
      resolve();
    });
  });

  const withStatus = (first: string, status: () => string): string[] => {
    const line = status();
    if (line === lastStatus) return [first];
    lastStatus = line;
    return [first, `STATUS=${line}`];
  };

  return {
    ready(status) {
      void send(withStatus('READY=1', status));
      if (periodMs === null) return;
      // A timer fires only while the event loop turns: a blocked or spinning loop stops the pings, and systemd
      // restarts the controller. The status rides along when it changed (board lost, MQTT back, …).
      pings = setInterval(() => void send(withStatus('WATCHDOG=1', status)), Math.max(1, Math.floor(periodMs / 2)));
      pings.unref();
      logger.info({ periodMs }, 'systemd: ready; watchdog pings every half period');
    },
    async stopping() {
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<void>((resolve) => { timer = setTimeout(resolve, options.stopWaitMs ?? 1000); });
      await Promise.race([send(['STOPPING=1']), waited]);
      clearTimeout(timer);
    },
  };
}
