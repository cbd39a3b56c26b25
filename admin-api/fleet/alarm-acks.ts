import type { Logger } from 'pino';
import { newCommand } from '../../controller/mqtt/command-auth.ts';
import { Topics } from '../../controller/mqtt/topics.ts';
import type { CommandKeyDirectory } from './command-keys.ts';

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
    if (!this.o.keys) return { sent: false, why: 'this monitor holds no command keys (--keys DIR): acknowledged on this page only; acknowledge it at the cabinet too' };
    const key = this.o.keys.keyFor(cabinetId);
    if (!key.ok) return { sent: false, why: `${key.error}: acknowledged on this page only` };
    const command = newCommand(key.key, 'ack', { alarmId, ...(note ? { note } : {}) }, (this.o.now ?? Date.now)());
    try {
      await this.o.publish(new Topics(cabinetId).command('ack'), JSON.stringify(command));
    } catch (error) {
      return { sent: false, why: `the acknowledgement did not reach the broker (${(error as Error).message}): acknowledge it at the cabinet` };
    }
    this.o.logger.info({ cabinetId, alarmId, requestId: command.requestId }, 'alarm acknowledgement sent to the cabinet');
    return { sent: true, requestId: command.requestId, alarmId };
  }
}
