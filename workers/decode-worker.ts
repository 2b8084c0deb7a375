/**
 * Piscina entry point of the decode stage's worker (src/pipeline/decode-stage.ts): parses the
 * records of a batch off the main thread, which then only standardises and labels them. Thin
 * on purpose: the decoding is JsonDecoder's `parseInto`, the messages are in decode-protocol.ts.
 */
import { move, transferableSymbol, valueSymbol, workerData } from 'piscina';

import {
  decodePacked,
  type DecodeRequest,
  type DecodeResponse,
  type DecodeWorkerData,
} from '../src/decode/decode-protocol.js';
import { JsonDecoder } from '../src/decode/json-decoder.js';

const { options, captureField } = workerData as DecodeWorkerData;
/** One decoder per dimension: the stage sends the dimension it has fixed. */
const decoders = new Map<number, JsonDecoder>();

export default function run(request: DecodeRequest): DecodeResponse {
  let decoder = decoders.get(request.dim);
  if (decoder === undefined) {
    decoder = new JsonDecoder({ ...options, dim: request.dim }, captureField);
    decoders.set(request.dim, decoder);
  }
  const parser = decoder;
  const response = decodePacked(
    (v, out, at) => parser.parseInto(v, out, at),
    request,
    captureField !== undefined,
  );
  // Handed to the main thread instead of copied.
  return move({
    [transferableSymbol]: [response.raw.buffer as ArrayBuffer, response.ok.buffer as ArrayBuffer],
    [valueSymbol]: response,
  } as never) as unknown as DecodeResponse;
}
