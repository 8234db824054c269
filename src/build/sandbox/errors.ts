/** Error codes of the build sandbox (E06xx). Never reuse a code. */
export const SandboxErrorCode = {
  /** The sandbox cannot be created here (no bwrap/unshare/perl, no user namespaces) and `sandbox-fallback` is off. */
  E_SANDBOX_UNAVAILABLE: 'E0601',
  /** Setting up the sandbox failed (mounts, helper). */
  E_SANDBOX_SETUP: 'E0602',
  /** `sandbox-paths` names a host path that does not exist. */
  E_SANDBOX_PATH_MISSING: 'E0603',
  /** `__noChroot` with `sandbox = true`. */
  E_NO_CHROOT_FORBIDDEN: 'E0604',
  /** `addPath` target already exists in the sandbox (a builder may not pre-create it). */
  E_PATH_EXISTS_IN_SANDBOX: 'E0605',
  /** `addPath` failed for another reason. */
  E_ADD_PATH_FAILED: 'E0606',
  /** A bad value of `sandbox`, `sandbox-paths` or `build-users-group`. */
  E_SANDBOX_SETTING: 'E0607',
  /** No free build user in `build-users-group`. */
  E_NO_BUILD_USER: 'E0608',
} as const;
