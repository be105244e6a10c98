// A separate process racing others on one LocalObjectStore directory (local-object-store-processes.test.ts).
// argv: root, writer id, rounds, increments
import { LocalObjectStore, PreconditionFailedError } from "../../src/stores/index.ts";

const [root, writer, rounds, increments] = process.argv.slice(2);
const store = new LocalObjectStore({ root: root!, fsync: false });
const encoder = new TextEncoder();
const wins: number[] = [];
// Wait for the go signal so all processes start racing together.
while (!(await Bun.file(`${root}/go`).exists())) await Bun.sleep(5);
for (let round = 0; round < Number(rounds); round++) {
  try {
    await store.put(`slot/${round}`, encoder.encode(`writer ${writer}`), { ifNoneMatch: "*" });
    wins.push(round);
  } catch (error) {
    if (!(error instanceof PreconditionFailedError)) throw error;
  }
}
for (let done = 0; done < Number(increments); ) {
  const current = await store.get("counter");
  const value = Number(new TextDecoder().decode(current.body).split(" ")[0]);
  try {
    await store.put("counter", encoder.encode(`${value + 1} by ${writer}`), { ifMatch: current.etag });
    done++;
  } catch (error) {
    if (!(error instanceof PreconditionFailedError)) throw error;
  }
}
console.log(JSON.stringify(wins));
