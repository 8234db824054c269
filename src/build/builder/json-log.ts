/**
 * Structured log lines from builders (Nix 2.8 `handleJSONLogMessage` with
 * `trusted = false`, called from `DerivationGoal::flushLine`): a line
 * `@nix {json}` is an event, not a log line. Untrusted builders may start
 * only file-transfer activities (as children of the build activity), report
 * results on them, stop them, set the build's phase, and log messages. Such
 * lines stay in the log file but never reach the log tail or the
 * `BuildLogLine` results. A malformed `@nix` line is reported and then treated
 * as an ordinary line.
 */
import { ActivityType, ResultType, Verbosity, type Field, type Logger, type VerbosityLevel } from '../../core/index.js';

const PREFIX = '@nix ';

export class BuilderJsonLog {
  /** Builder's activity id → our activity id. */
  private readonly acts = new Map<number, number>();

  constructor(
    private readonly logger: Logger,
    /** The build activity: parent of started activities, target of `setPhase`. */
    private readonly buildAct: number,
  ) {}

  /** True when `line` was a structured event (so it is not a log line). */
  handle(line: string): boolean {
    if (!line.startsWith(PREFIX)) return false;
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(line.slice(PREFIX.length)) as Record<string, unknown>;
      if (json === null || typeof json !== 'object') throw new Error('type must be object');
      this.apply(json);
      return true;
    } catch (e) {
      this.logger.log(Verbosity.Error, `error: bad JSON log message from builder: ${(e as Error).message}`);
      return false;
    }
  }

  private apply(json: Record<string, unknown>): void {
    const action = str(json.action);
    if (action === 'start') {
      const type = num(json.type);
      if (type !== ActivityType.FileTransfer) return;
      const id = this.logger.startActivity(type, str(json.text), fields(json.fields), this.buildAct, num(json.level) as VerbosityLevel);
      this.acts.set(num(json.id), id);
    } else if (action === 'stop') {
      const id = this.acts.get(num(json.id));
      if (id !== undefined) {
        this.acts.delete(num(json.id));
        this.logger.stopActivity(id);
      }
    } else if (action === 'result') {
      const id = this.acts.get(num(json.id));
      if (id !== undefined) this.logger.result(id, num(json.type), fields(json.fields));
    } else if (action === 'setPhase') {
      this.logger.result(this.buildAct, ResultType.SetPhase, [str(json.phase)]);
    } else if (action === 'msg') {
      this.logger.log(num(json.level) as VerbosityLevel, str(json.msg));
    }
  }

  /** Stop what the builder left open (Nix drops `builderActivities` with the goal). */
  close(): void {
    for (const id of this.acts.values()) this.logger.stopActivity(id);
    this.acts.clear();
  }
}

function str(v: unknown): string {
  if (typeof v !== 'string') throw new Error(`type must be string, but is ${jsonType(v)}`);
  return v;
}

function num(v: unknown): number {
  if (typeof v !== 'number') throw new Error(`type must be number, but is ${jsonType(v)}`);
  return v;
}

function fields(v: unknown): Field[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new Error(`type must be array, but is ${jsonType(v)}`);
  return v.map((f) => (typeof f === 'number' ? f : str(f)));
}

function jsonType(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' ? 'object' : typeof v;
}
