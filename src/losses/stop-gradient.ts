/**
 * Helpers every loss shares: a stop-gradient (tfjs has no `tf.stopGradient`) and the
 * graph-attached zero that empty cases return.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * Identity in the forward pass, zero gradient in the backward pass. Used for the values a loss
 * must treat as constants while they still come from tensors: the centroid store's snapshot and
 * DEC's target distribution P.
 */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const input = args[0] as tf.Tensor;
    // Only the shape is kept: the input itself may be disposed before the backward pass.
    const shape = input.shape;
    return { value: tf.clone(input), gradFunc: () => tf.zeros(shape) };
  });
  return f(x) as T;
}

/**
 * A scalar zero that depends on `x`, so `tf.variableGrads` still finds a path to the weights and
 * returns zero gradients instead of throwing "cannot find a connection". Multiplying by zero keeps
 * the value at exactly 0 for every finite input.
 */
export function attachedZero(x: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.mul(x, tf.scalar(0))));
}

/** Throws a shape error that names both shapes, so a wiring mistake is found from the message. */
export function assertRank2(name: string, x: tf.Tensor): asserts x is tf.Tensor2D {
  if (x.rank !== 2) {
    throw new Error(`${name} must be a 2-D tensor [batch, dim], got shape [${x.shape.join(', ')}]`);
  }
}

export function assertSameShape(nameA: string, a: tf.Tensor, nameB: string, b: tf.Tensor): void {
  if (a.shape.length !== b.shape.length || a.shape.some((s, i) => s !== b.shape[i])) {
    throw new Error(
      `${nameA} [${a.shape.join(', ')}] and ${nameB} [${b.shape.join(', ')}] must have the same shape`,
    );
  }
}

/**
 * `tf.gather(x, indices)` along axis 0 with a gradient that every backend can run. tfjs
 * differentiates gather with UnsortedSegmentSum, which the wasm backend does not implement
 * (tfjs 4.22: "Kernel 'UnsortedSegmentSum' not registered for backend 'wasm'"), so a worker on
 * wasm could not train. The backward pass here is a scatter-add (ScatterNd sums duplicate
 * indices on every backend), which is the same gradient.
 */
export function gatherDifferentiable<T extends tf.Tensor>(x: T, indices: Int32Array): T {
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const input = args[0] as tf.Tensor;
    const shape = input.shape;
    return {
      value: tf.tidy(() => tf.gather(input, tf.tensor1d(indices, 'int32'))),
      gradFunc: (dy: tf.Tensor | tf.Tensor[]) =>
        tf.tidy(() =>
          tf.scatterND(tf.tensor2d(indices, [indices.length, 1], 'int32'), dy as tf.Tensor, shape),
        ),
    };
  });
  return f(x) as T;
}
