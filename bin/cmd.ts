import mqtt from 'mqtt';
import { newCommand, readCommandKey } from '../controller/mqtt/command-auth.ts';
import { Topics } from '../controller/mqtt/topics.ts';

export interface CmdOptions {
  readonly name: string;
  readonly mqttUrl: string;
  readonly cabinetId: string;
  readonly keyFile: string;
  readonly args: Record<string, unknown>;
  readonly timeoutMs: number;
}

/**
 * `govlocker cmd`: signs a command with the cabinet's key, sends it to `…/cmd/{name}` and waits for the reply
 * with the same requestId. Resolves with the reply (never with the key or signature on screen).
 */
export async function sendCommand(o: CmdOptions): Promise<{ requestId: string; ok: boolean; result?: unknown; error?: string }> {
  const key = readCommandKey(o.keyFile);
  const topics = new Topics(o.cabinetId);
  const command = newCommand(key, o.name, o.args);
  const client = await mqtt.connectAsync(o.mqttUrl, { clientId: `govlocker-cmd-${command.requestId.slice(0, 8)}`, clean: true, reconnectPeriod: 0, connectTimeout: 5000 });
  try {
    const reply = new Promise<{ requestId: string; ok: boolean }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply from cabinet ${o.cabinetId} within ${o.timeoutMs} ms (is it online? see its …/status)`)), o.timeoutMs);
      client.on('message', (topic, payload) => {
        if (topic !== topics.reply) return;
        try {
          const r = JSON.parse(payload.toString()) as { requestId: string; ok: boolean };
          if (r.requestId === command.requestId) {
            clearTimeout(timer);
            resolve(r);
          }
        } catch { /* another client's garbage on the reply topic */ }
      });
    });
    await client.subscribeAsync(topics.reply, { qos: 1 });
    await client.publishAsync(topics.command(o.name), JSON.stringify(command), { qos: 1 });
    return await reply;
  } finally {
    await client.endAsync();
  }
}
