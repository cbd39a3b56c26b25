export { parseChallenges, type Challenge } from './challenge.ts';
export { digestAlgorithms, digestAuthorization, digestResponse, newCnonce, readDigestChallenge, type DigestAlgorithm, type DigestChallenge, type DigestInput } from './digest.ts';
export { isJpeg, MAX_STILL_BYTES } from './jpeg.ts';
export { SnapshotClient, type SnapshotClientOptions } from './snapshot-client.ts';
