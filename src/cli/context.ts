/**
 * What every command receives: streams, environment and settings. Commands
 * return an exit status instead of calling `process.exit`, so they are testable.
 */
import { Settings, loadSettings, nixDirs, type NixDirs } from '../core/index.js';

export interface CliContext {
  /** The name the command was invoked as (`nix-store`, `nix`, …). */
  programName: string;
  env: NodeJS.ProcessEnv;
  settings: Settings;
  dirs: NixDirs;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
}

export type CommandModule = { run(args: string[], ctx: CliContext): Promise<number> };

/** `settings`: what to use instead of nix.conf and NIX_CONFIG (after they failed to load). */
export function defaultContext(programName: string, settings?: Settings): CliContext {
  return {
    programName,
    env: process.env,
    settings: settings ?? loadSettings(process.env),
    dirs: nixDirs(process.env),
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
  };
}
