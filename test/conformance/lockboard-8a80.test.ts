import { defineBoardConformance } from './board-suite.ts';
import { openLockboardRig } from './lockboard-rig.ts';

// LockboardBoard × two emulated 8A/80 boards (addresses 1 and 2, 24 channels) over TCP at 9600 baud, real line
// timing. The frames themselves are pinned byte for byte in test/unit/lockboard-8a80.test.ts.

defineBoardConformance({
  name: 'LockboardBoard × the 8A/80 bus emulator',
  open: () => openLockboardRig('8a80'),
});
