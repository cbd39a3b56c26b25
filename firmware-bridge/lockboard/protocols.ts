import * as codec8a80 from './codec-8a80.ts';
import * as codecKerong from './codec-kerong.ts';
import type { BusProtocol, ProtocolChoice } from './protocol.ts';
import { protocol8a80 } from './protocol-8a80.ts';
import { protocolKerong } from './protocol-kerong.ts';

/** The adapter for a bus's protocol, its codec settings parsed (defaults filled, fields of other kinds ignored). */
export function protocolFor(choice: ProtocolChoice): BusProtocol {
  if (choice.protocol === '8a80') return protocol8a80(codec8a80.settingsSchema.parse(choice), choice.pollEach ?? 'board');
  return protocolKerong(codecKerong.settingsSchema.parse(choice));
}
