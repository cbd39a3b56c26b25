import { defineBoardConformance } from './board-suite.ts';
import { openLockboardRig } from './lockboard-rig.ts';

// LockboardBoard × two emulated Kerong KR-CU16 boards (addresses 0 and 1) over TCP at 19200 baud, real line
// timing. The frames themselves are pinned byte for byte in test/unit/lockboard-kerong.test.ts.

defineBoardConformance({
  name: 'LockboardBoard × the Kerong KR-CU bus emulator',
  open: () => openLockboardRig('kerong-cu'),
});
