// `npm run firmware:fetch`: puts the pinned StandardFirmata hex for the Uno into the cache (a no-op when it
// is there already) and says where it is.
import { STANDARD_FIRMATA_UNO, ensureStandardFirmataHex, standardFirmataPath } from './firmata-hex.ts';

try {
  await ensureStandardFirmataHex({ log: (line) => console.error(line) });
  console.log(`${standardFirmataPath()}  sha256 ${STANDARD_FIRMATA_UNO.sha256}`);
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = 1;
}
