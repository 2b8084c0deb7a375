/**
 * `describe` for suites that need a real component (a Kafka broker, Prometheus, Chromium, the
 * native TensorFlow backend). With it the suite runs. Without it the suite is skipped, with the
 * reason in its name, on a developer's machine; when CI=true it is replaced by one failing test,
 * since .ci/run installs every component and a missing one there is a broken build, not a
 * missing tool.
 */
import { describe, it } from 'vitest';

export function describeWithComponent(
  component: string,
  /** Why the component cannot be had here; undefined when it can. */
  reason: string | undefined,
  name: string,
  fn: () => void,
): void {
  if (reason === undefined) {
    describe(name, fn);
    return;
  }
  if (process.env['CI'] === 'true') {
    describe(name, () => {
      it(`needs ${component}`, () => {
        throw new Error(`CI=true requires ${component}, but ${reason}`);
      });
    });
    return;
  }
  describe.skip(`${name} [skipped: ${reason.split('\n')[0] ?? reason}]`, fn);
}
