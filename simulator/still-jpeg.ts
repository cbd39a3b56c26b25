// A tiny baseline JPEG (8×8 pixels, one grey component) built by hand, for the simulated camera: a COM
// segment carries the text the caller gives (a sequence number and the time), so every still differs.
// The one 8×8 block has only a DC coefficient; each Huffman table holds a single code of length 1 ("0").

const segment = (marker: number, body: Buffer): Buffer => {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(0xff00 | marker, 0);
  head.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([head, body]);
};

/** A Huffman table of one symbol with the 1-bit code "0". */
const oneCodeTable = (tableClassAndId: number, symbol: number) => segment(0xc4, Buffer.from([tableClassAndId, 1, ...new Array<number>(15).fill(0), symbol]));

/**
 * The still, its grey level chosen by `shade` (0–15): the DC difference is a category-4 value (8–15 brighter,
 * or 0 for middle grey), so one entropy byte holds the DC code, its 4 bits and the AC end-of-block.
 */
export function stillJpeg(comment: string, shade = 0): Buffer {
  const level = Math.max(0, Math.min(15, Math.trunc(shade)));
  const category = level < 8 ? 0 : 4;
  // Bits: DC code "0", then `category` bits of the value, then the AC end-of-block "0", padded with 1s.
  const bits = category === 0 ? '00' : `0${level.toString(2).padStart(4, '0')}0`;
  const entropy = Buffer.from([parseInt(bits.padEnd(8, '1'), 2)]);
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    segment(0xe0, Buffer.from([0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00])),
    segment(0xfe, Buffer.from(comment.slice(0, 1000), 'utf8')),
    segment(0xdb, Buffer.from([0x00, ...new Array<number>(64).fill(8)])),
    segment(0xc0, Buffer.from([8, 0, 8, 0, 8, 1, 1, 0x11, 0])),
    oneCodeTable(0x00, category),
    oneCodeTable(0x10, 0x00),
    segment(0xda, Buffer.from([1, 1, 0x00, 0, 63, 0])),
    entropy,
    Buffer.from([0xff, 0xd9]),
  ]);
}

/** The text of a JPEG's first COM segment, or null. */
export function jpegComment(jpeg: Buffer): string | null {
  for (let i = 2; i + 4 <= jpeg.length && jpeg[i] === 0xff;) {
    const marker = jpeg[i + 1]!;
    const length = jpeg.readUInt16BE(i + 2);
    if (marker === 0xfe) return jpeg.subarray(i + 4, i + 2 + length).toString('utf8');
    if (marker === 0xda) return null;
    i += 2 + length;
  }
  return null;
}
