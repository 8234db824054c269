/**
 * Logging and activities (libutil/logging.hh). Producers report structured
 * events; sinks (terminal, `internal-json`, the daemon's tunnel) format them.
 * Nothing below `cli` writes to stdout.
 */

/** Verbosity levels, with the wire numbers. */
export const Verbosity = { Error: 0, Warn: 1, Notice: 2, Info: 3, Talkative: 4, Chatty: 5, Debug: 6, Vomit: 7 } as const;
export type VerbosityLevel = (typeof Verbosity)[keyof typeof Verbosity];

/** Nix/Lix `ActivityType` numbers. */
export const ActivityType = {
  Unknown: 0, CopyPath: 100, FileTransfer: 101, Realise: 102, CopyPaths: 103, Builds: 104, Build: 105,
  OptimiseStore: 106, VerifyPaths: 107, Substitute: 108, QueryPathInfo: 109, PostBuildHook: 110, BuildWaiting: 111,
} as const;

/** Nix/Lix `ResultType` numbers. */
export const ResultType = {
  FileLinked: 100, BuildLogLine: 101, UntrustedPath: 102, CorruptedPath: 103, SetPhase: 104, Progress: 105,
  SetExpected: 106, PostBuildLogLine: 107,
} as const;

export type Field = number | string;

export interface Logger {
  log(level: VerbosityLevel, msg: string): void;
  startActivity(type: number, text: string, fields?: Field[], parent?: number, level?: VerbosityLevel): number;
  stopActivity(id: number): void;
  result(id: number, type: number, fields: Field[]): void;
}

let nextActivityId = 1;
/** Activity ids are unique per process, as in Nix (pid-based high bits are not needed here). */
export function newActivityId(): number {
  return nextActivityId++;
}

/** A logger that forwards to a callback for `log` and ignores activities. */
export class SimpleLogger implements Logger {
  constructor(
    private readonly write: (line: string) => void,
    public verbosity: VerbosityLevel = Verbosity.Info,
  ) {}
  log(level: VerbosityLevel, msg: string): void {
    if (level <= this.verbosity) this.write(msg);
  }
  startActivity(_type: number, text: string, _fields: Field[] = [], _parent = 0, level: VerbosityLevel = Verbosity.Info): number {
    if (text && level <= this.verbosity) this.write(text);
    return newActivityId();
  }
  stopActivity(_id: number): void {}
  result(_id: number, _type: number, _fields: Field[]): void {}
}

export const nullLogger: Logger = {
  log() {},
  startActivity: () => newActivityId(),
  stopActivity() {},
  result() {},
};
