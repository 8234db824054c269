/**
 * The scheduler's progress activities (Nix 2.8 `Worker` members `act`
 * (actRealise), `actDerivations` (actBuilds), `actSubstitutions`
 * (actCopyPaths) and `Worker::updateProgress`): started when a top-level
 * build starts, stopped (in reverse order) when it ends. Every change of the
 * counts re-sends all four results, as 2.8 does: builds progress
 * `[done, expected+done, running, failed]`, copy-paths progress (always zero
 * here: no substituters), and the expected file-transfer and copy-path sizes.
 *
 * Counting mirrors 2.8's `MaintainCount`s: a derivation goal adds one expected
 * build when it is created; a started builder adds a running one; when the
 * goal finishes, expected and running drop, and `done` (Built) or `failed`
 * (any failure but DependencyFailed) grows. Cancelled goals drop silently.
 */
import { ActivityType, ResultType, type Logger } from '../core/index.js';

export class BuildProgress {
  private expected = 0;
  private done = 0;
  private running = 0;
  private failed = 0;
  private acts: [number, number, number] | undefined;
  /** Nested top-level runs (recursive Nix) share the activities of the outermost. */
  private depth = 0;

  constructor(private readonly logger: Logger) {}

  /** A top-level `buildPaths` begins. */
  begin(): void {
    if (this.depth++ > 0) return;
    const l = this.logger;
    this.acts = [
      l.startActivity(ActivityType.Realise, '', [], 0, 0),
      l.startActivity(ActivityType.Builds, '', [], 0, 0),
      l.startActivity(ActivityType.CopyPaths, '', [], 0, 0),
    ];
  }

  /** The top-level `buildPaths` ended. */
  end(): void {
    if (--this.depth > 0 || this.acts === undefined) return;
    const [realise, builds, copy] = this.acts;
    this.acts = undefined;
    this.logger.stopActivity(copy);
    this.logger.stopActivity(builds);
    this.logger.stopActivity(realise);
  }

  goalCreated(): void {
    this.expected++;
    this.update();
  }

  builderStarted(): void {
    this.running++;
    this.update();
  }

  /**
   * The goal finished. `ran`: a builder was started for it; `outcome`: what
   * to count; `cancelled` goals only drop their counts, without an update.
   */
  goalDone(ran: boolean, outcome: 'built' | 'valid' | 'failed' | 'depFailed' | 'cancelled'): void {
    this.expected--;
    if (ran) this.running--;
    if (outcome === 'cancelled') return;
    if (outcome === 'built') this.done++;
    if (outcome === 'failed') this.failed++;
    this.update();
  }

  private update(): void {
    if (this.acts === undefined) return;
    const [realise, builds, copy] = this.acts;
    const l = this.logger;
    l.result(builds, ResultType.Progress, [this.done, this.expected + this.done, this.running, this.failed]);
    l.result(copy, ResultType.Progress, [0, 0, 0, 0]);
    l.result(realise, ResultType.SetExpected, [ActivityType.FileTransfer, 0]);
    l.result(realise, ResultType.SetExpected, [ActivityType.CopyPath, 0]);
  }
}
