// The committed offline renders (tests/golden/) must equal a fresh render: every config change is
// reviewed as a diff. After an intended change: npm run golden, and commit what it rewrote.
import * as assert from "assert";
import { goldenDiff, GOLDEN_STACKS } from "../scripts/golden";

describe("golden offline renders", function () {
  this.timeout(120_000);
  for (const stack of GOLDEN_STACKS) {
    it(`tests/golden/${stack} equals a fresh render of ${stack}`, async () => {
      const diff = await goldenDiff(stack);
      if (diff) assert.fail(`the ${stack} render differs from tests/golden/${stack} (npm run golden refreshes it after an intended change):\n${diff.slice(0, 20000)}`);
    });
  }
});
