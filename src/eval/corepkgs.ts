/**
 * Built-in Nix sources 2.8 reaches through `<nix/…>` (`/__corepkgs__/…`
 * when the search path has no `nix` entry): `fetchurl.nix`, a fixed-output
 * derivation with `builder = "builtin:fetchurl"`. The attribute set it
 * passes to `derivation` must equal 2.8's exactly (names and values decide
 * the `.drv` path), and `functionArgs` must list the same formals.
 */

export const COREPKGS_PREFIX = '/__corepkgs__/';

const FETCHURL_NIX = `
{ system ? "", url, hash ? "", md5 ? "", sha1 ? "", sha256 ? "", sha512 ? ""
, outputHash ? (
    if hash != "" then hash
    else if sha512 != "" then sha512
    else if sha1 != "" then sha1
    else if md5 != "" then md5
    else sha256)
, outputHashAlgo ? (
    if hash != "" then ""
    else if sha512 != "" then "sha512"
    else if sha1 != "" then "sha1"
    else if md5 != "" then "md5"
    else "sha256")
, executable ? false, unpack ? false, name ? baseNameOf (toString url)
}:
derivation {
  inherit name url executable unpack outputHash outputHashAlgo;
  builder = "builtin:fetchurl";
  system = "builtin";
  outputHashMode = if unpack || executable then "recursive" else "flat";
  preferLocalBuild = true;
  impureEnvVars = [ "http_proxy" "https_proxy" "ftp_proxy" "all_proxy" "no_proxy" ];
  urls = [ url ];
}
`;

/** Source text of a corepkgs file, or undefined. */
export function corepkgsSource(path: string): string | undefined {
  if (path === COREPKGS_PREFIX + 'fetchurl.nix') return FETCHURL_NIX;
  return undefined;
}
