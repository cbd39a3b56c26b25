/**
 * The national 政务服务 "好差评" rating: five levels, bound to the case number. A 不满意 or worse may say
 * what went wrong, chosen from a fixed list so nothing personal can be typed into it.
 */
export const ratingLevelNames = {
  5: { zh: '非常满意', en: 'very satisfied' },
  4: { zh: '满意', en: 'satisfied' },
  3: { zh: '基本满意', en: 'fairly satisfied' },
  2: { zh: '不满意', en: 'dissatisfied' },
  1: { zh: '非常不满意', en: 'very dissatisfied' },
} as const;
export type RatingLevel = keyof typeof ratingLevelNames;

/** Levels at or below this one are followed up by the hall, so the kiosk asks what went wrong. */
export const FOLLOW_UP_AT_OR_BELOW = 2;

export const ratingReasons = ['waited-too-long', 'door-did-not-open', 'items-missing', 'instructions-unclear', 'other'] as const;
export type RatingReason = (typeof ratingReasons)[number];

export const ratingReasonNames: Record<RatingReason, { zh: string; en: string }> = {
  'waited-too-long': { zh: '等待时间太长', en: 'waited too long' },
  'door-did-not-open': { zh: '柜门没有打开', en: 'the door did not open' },
  'items-missing': { zh: '材料缺少或不对', en: 'items missing or wrong' },
  'instructions-unclear': { zh: '提示看不懂', en: 'instructions unclear' },
  other: { zh: '其他', en: 'other' },
};
