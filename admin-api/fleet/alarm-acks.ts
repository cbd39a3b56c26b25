import type { Logger } from 'pino';
import { Topics } from '../../controller/mqtt/topics.ts';
import { signFor, type CommandKeyDirectory } from './command-keys.ts';

export type AckForwarding =
  | { readonly sent: true; readonly requestId: string; readonly alarmId: number }
  | { readonly sent: false; readonly why: string };

/**
 * An alarm acknowledged on the fleet page is acknowledged at the cabinet too: a signed `ack` command
 * (`{alarmId, note}`) to `…/cmd/ack`, when the monitor holds the cabinet's key and the alarm carries the
 * cabinet's alarm id. The cabinet's `alarm.acknowledged` then tells every other monitor.
 */
export class AlarmAcks {
  constructor(
    private readonly o: {
      readonly keys: CommandKeyDirectory | null;
      readonly publish: (topic: string, payload: string) => Promise<void>;
      readonly logger: Logger;
      readonly now?: () => number;
    },
  ) {}

  async forward(cabinetId: string, alarmId: unknown, note: string | undefined): Promise<AckForwarding> {
    if (typeof alarmId !== 'number' || !Number.isInteger(alarmId) || alarmId < 1) return { sent: false, why: 'this event is no alarm the cabinet keeps: acknowledged on this page only' };
    const signed = signFor(this.o.keys, cabinetId, 'ack', { alarmId, ...(note ? { note } : {}) }, (this.o.now ?? Date.now)());
    if (!signed.ok) return { sent: false, why: `${signed.error}: acknowledged on this page only; acknowledge it at the cabinet too` };
    const { command } = signed;
    try {
      await this.o.publish(new Topics(cabinetId).command('ack'), JSON.stringify(command));
    } catch (error) {
      return { sent: false, why: `the acknowledgement did not reach the broker (${(error as Error).message}): acknowledge it at the cabinet` };
    }
    this.o.logger.info({ cabinetId, alarmId, requestId: command.requestId }, 'alarm acknowledgement sent to the cabinet');
    return { sent: true, requestId: command.requestId, alarmId };
  }
}
