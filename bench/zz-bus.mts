import { startBenchBus } from './lockboard-bus.ts';
const doors = [1,2,3,4].flatMap((board) => Array.from({ length: 24 }, (_, i) => ({ id: `B${board}-${i + 1}`, board, channel: i + 1 })));
const bus = await startBenchBus('8a80', doors, { channelsPerBoard: 24 });
console.log('port', bus.port);
