/** A still is at most this large: a snapshot at the camera's usual resolution is 100–500 KB. */
export const MAX_STILL_BYTES = 2 * 1024 * 1024;

/** A JPEG starts with SOI (FF D8) and a marker (FF …). */
export const isJpeg = (bytes: Uint8Array): boolean => bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
