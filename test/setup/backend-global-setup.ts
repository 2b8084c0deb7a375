/**
 * Says once, at the top of the test log, which TensorFlow.js backend the suite trains on: the
 * trainer workers and the loss tests take `auto` (native TensorFlow when `npm run setup:native`
 * built it), and the tests named "on the wasm backend" force wasm.
 */
import { nativeUnavailableReason } from '../helpers/native-backend.js';

export default function setup(): void {
  const reason = nativeUnavailableReason();
  console.log(
    reason === undefined
      ? '[backend] native TensorFlow (@tensorflow/tfjs-node) loads: training and loss tests run on backend tensorflow; the wasm subset forces model.backend=wasm'
      : `[backend] native TensorFlow does not load, tests run on wasm: ${reason}`,
  );
}
