/**
 * @tabula/client-sdk (SPEC §8). STUB: implemented by issue 5 (view) and issue 3 (live channel).
 */
export {}
