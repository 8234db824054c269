/** Error codes of the `build` layer (E04xx). Never reuse a code. */
export const BuildErrorCode = {
  E_BUILD_FAILED: 'E0401',
  E_DEPENDENCY_FAILED: 'E0402',
  E_HASH_MISMATCH: 'E0403',
  E_TIMED_OUT: 'E0404',
  E_OUTPUT_MISSING: 'E0405',
  E_OUTPUT_REJECTED: 'E0406',
  E_CYCLE: 'E0407',
  E_NOT_DETERMINISTIC: 'E0408',
  E_BAD_DERIVATION: 'E0409',
  E_NO_SUBSTITUTER: 'E0410',
  E_WRONG_PLATFORM: 'E0411',
  E_CANCELLED: 'E0412',
  E_NO_STORE_SUPPORT: 'E0413',
  E_BUILD_LOG: 'E0414',
  E_SILENT_TIMEOUT: 'E0415',
  E_MISC: 'E0416',
  /** A `BuildError` while the build is set up (`startBuilder`): InputRejected, a permanent failure. */
  E_INPUT_REJECTED: 'E0417',
} as const;
