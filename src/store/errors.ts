/** Error codes of the `store` layer (E02xx). */
export const StoreErrorCode = {
  E_PATH_NOT_VALID: 'E0201',
  E_PATH_IN_USE: 'E0202',
  E_NAR_HASH_MISMATCH: 'E0203',
  E_BAD_REFERENCE: 'E0204',
  E_DB: 'E0205',
  E_NOT_IN_STORE: 'E0206',
  E_LOCK: 'E0207',
} as const;
