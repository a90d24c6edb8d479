// STUB: implemented by issue 6.
export {}
