/**
 * A model's full state as one Float32Array plus a table of named entries: the form in which
 * weights and optimiser slots cross threads (transferred, one buffer) and land in checkpoints.
 * Gradients use the same packing, in the order of the variables list.
 */
export interface PackedEntry {
  name: string;
  shape: number[];
  offset: number;
  length: number;
}

export interface PackedTensors {
  entries: PackedEntry[];
  values: Float32Array;
}

export interface NamedArray {
  name: string;
  shape: number[];
  values: Float32Array | Int32Array | Uint8Array;
}

export function pack(arrays: readonly NamedArray[]): PackedTensors {
  const total = arrays.reduce((n, a) => n + a.values.length, 0);
  const values = new Float32Array(total);
  const entries: PackedEntry[] = [];
  let offset = 0;
  for (const a of arrays) {
    values.set(a.values, offset);
    entries.push({ name: a.name, shape: [...a.shape], offset, length: a.values.length });
    offset += a.values.length;
  }
  return { entries, values };
}

export function entryValues(packed: PackedTensors, entry: PackedEntry): Float32Array {
  return packed.values.subarray(entry.offset, entry.offset + entry.length);
}

/** The trainer's whole state: every variable, and the optimiser's slots and step count. */
export interface ModelState {
  version: number;
  variables: PackedTensors;
  optimizer: PackedTensors;
}

/** A JSON form for checkpoints: the float buffers as base64 (exact, little-endian). */
export interface ModelStateJson {
  version: number;
  variables: { entries: PackedEntry[]; values: string };
  optimizer: { entries: PackedEntry[]; values: string };
}

export function modelStateToJson(state: ModelState): ModelStateJson {
  const encode = (p: PackedTensors): { entries: PackedEntry[]; values: string } => ({
    entries: p.entries,
    values: Buffer.from(p.values.buffer, p.values.byteOffset, p.values.byteLength).toString(
      'base64',
    ),
  });
  return {
    version: state.version,
    variables: encode(state.variables),
    optimizer: encode(state.optimizer),
  };
}

export function modelStateFromJson(json: ModelStateJson): ModelState {
  const decode = (p: { entries: PackedEntry[]; values: string }): PackedTensors => {
    const bytes = Buffer.from(p.values, 'base64');
    const copy = new Uint8Array(bytes.byteLength);
    copy.set(bytes);
    return { entries: p.entries, values: new Float32Array(copy.buffer) };
  };
  return {
    version: json.version,
    variables: decode(json.variables),
    optimizer: decode(json.optimizer),
  };
}

export function cloneModelState(state: ModelState): ModelState {
  return {
    version: state.version,
    variables: { entries: state.variables.entries, values: state.variables.values.slice() },
    optimizer: { entries: state.optimizer.entries, values: state.optimizer.values.slice() },
  };
}
