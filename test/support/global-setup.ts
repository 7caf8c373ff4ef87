// Runs once before the suite: finds out whether a Docker engine answers and tells the test
// workers through ORCH_TEST_DOCKER, so e2e suites can skip (or fail under CI) without each asking.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

function engineAnswers(): boolean {
  try {
    execFileSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'ignore', timeout: 15_000 });
    return true;
  } catch {
    return false;
  }
}

export default function globalSetup(): void {
  const up = engineAnswers();
  process.env.ORCH_TEST_DOCKER = up ? '1' : '0';
  if (up) {
    // Cheap when the image is current; the Makefile builds it too.
    execFileSync(join(__dirname, '../../scripts/build-image'), { stdio: 'inherit' });
  } else {
    const banner = '!'.repeat(78);
    process.stderr.write(
      `\n${banner}\n! No Docker engine answers: tests that need one ${process.env.CI === 'true' ? 'FAIL (CI=true)' : 'are SKIPPED'}.\n! Run scripts/docker-engine (as root) to start one.\n${banner}\n\n`,
    );
  }
}
