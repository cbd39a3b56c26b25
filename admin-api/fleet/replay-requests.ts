import type { Logger } from 'pino';
import { Topics } from '../../controller/mqtt/topics.ts';
import { signFor, type CommandKeyDirectory } from './command-keys.ts';
import type { FleetState } from './fleet-state.ts';

export type ReplayOutcome =
  | { readonly ok: true; readonly requestId: string; readonly cabinetId: string; readonly fromSeq: number; readonly expiresAt: string }
  | { readonly ok: false; readonly status: 404 | 409 | 503; readonly error: string };

export const NO_KEYS_MESSAGE =
  'this fleet monitor holds no command keys, so it cannot sign a replay: start it with --keys DIR, a directory of <cabinetId>.key files (copies of each cabinet\'s command.key)';

/**
 * Ops' "request replay" button: a `replay` command (`{fromSeq}`) signed with the cabinet's own key, sent to
 * `…/cmd/replay`. The cabinet's reply on `…/reply` lands in the state; the events it sends again fill the gap.
 */
export class ReplayRequests {
  constructor(
    private readonly o: {
      readonly keys: CommandKeyDirectory | null;
      readonly state: FleetState;
      readonly publish: (topic: string, payload: string) => Promise<void>;
      readonly logger: Logger;
      readonly now?: () => number;
    },
  ) {}

  get canSign(): boolean {
    return this.o.keys !== null;
  }

  async request(cabinetId: string, fromSeq: number): Promise<ReplayOutcome> {
    if (!this.o.state.has(cabinetId)) return { ok: false, status: 404, error: `no cabinet ${cabinetId} on the broker` };
    const signed = signFor(this.o.keys, cabinetId, 'replay', { fromSeq }, (this.o.now ?? Date.now)());
    if (!signed.ok) return { ok: false, status: 409, error: signed.reason === 'no-keys' ? NO_KEYS_MESSAGE : signed.error };
    const { command } = signed;
    // Noted before sending: the cabinet's reply may come back before our PUBACK does.
    this.o.state.replayRequested(cabinetId, command.requestId, fromSeq);
    try {
      await this.o.publish(new Topics(cabinetId).command('replay'), JSON.stringify(command));
    } catch (error) {
      const message = `the replay request was not sent: ${(error as Error).message}; try again when the broker is back`;
      this.o.state.replyReceived(cabinetId, { requestId: command.requestId, ok: false, error: message });
      return { ok: false, status: 503, error: message };
    }
    this.o.logger.info({ cabinetId, fromSeq, requestId: command.requestId }, 'replay requested');
    return { ok: true, requestId: command.requestId, cabinetId, fromSeq, expiresAt: command.expiresAt };
  }
}
