import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

// A data dir made by `govlocker provision` carries this small record beside its database: which cabinet it was
// made for and when. `govlocker controller` starts only on such a dir, so a production cabinet never runs on
// keys and an admin that a demo made (the demo, `govlocker start`, needs none).

export const PROVISION_RECORD_FILE = 'provisioned.json';

const recordSchema = z.object({
  version: z.literal(1),
  cabinetId: z.string().min(1),
  provisionedAt: z.string().min(1),
  /** The first admin's name (the password is never kept here). */
  admin: z.string().min(1),
}).strict();

export type ProvisionRecord = z.infer<typeof recordSchema>;

/** The record, null when the dir was never provisioned; throws (naming the fix) when it is damaged. */
export function readProvisionRecord(dataDir: string): ProvisionRecord | null {
  const file = join(dataDir, PROVISION_RECORD_FILE);
  if (!existsSync(file)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file} cannot be read (${(error as Error).message}): restore the data dir from its backup`);
  }
  const parsed = recordSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`${file} is not a provisioning record: restore the data dir from its backup`);
  return parsed.data;
}

export function provisionRecordText(record: ProvisionRecord): string {
  return JSON.stringify(recordSchema.parse(record), null, 2) + '\n';
}
