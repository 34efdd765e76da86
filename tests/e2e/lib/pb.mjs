// A minimal protobuf wire-format writer and reader, for crafting requests
// the SDK would never send (invalid UTF-8, broken framing) and for reading
// google.rpc.Status error bodies.

export function varint(n) {
  let v = BigInt(n);
  const out = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return Buffer.from(out);
}

const tag = (field, wt) => varint((field << 3) | wt);

// Field builders; each returns a Buffer.
export const pb = {
  bytes: (field, buf) => Buffer.concat([tag(field, 2), varint(buf.length), Buffer.from(buf)]),
  string: (field, s) => pb.bytes(field, Buffer.from(s, 'utf8')),
  msg: (field, ...parts) => pb.bytes(field, Buffer.concat(parts)),
  uint: (field, n) => Buffer.concat([tag(field, 0), varint(n)]),
  fixed64: (field, n) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(n));
    return Buffer.concat([tag(field, 1), b]);
  },
};

// ExportTraceServiceRequest with one span; `name` may be any bytes (to
// carry invalid UTF-8), and the span's attribute value likewise.
export function traceRequest({ traceId, spanId, name = Buffer.from('span'), service = 'pb-service',
  attrValue = Buffer.from('v'), start = 1n, end = 2n }) {
  const anyValue = pb.bytes(1, attrValue); // AnyValue.string_value
  const kv = (k, v) => pb.msg(1, pb.string(1, k), pb.msg(2, v)); // repeated KeyValue attributes = 1
  const resource = pb.msg(1, kv('service.name', pb.string(1, service)));
  const span = pb.msg(2,
    pb.bytes(1, Buffer.from(traceId, 'hex')),
    pb.bytes(2, Buffer.from(spanId, 'hex')),
    pb.bytes(5, name),
    pb.fixed64(7, start),
    pb.fixed64(8, end),
    pb.msg(9, pb.string(1, 'k'), pb.msg(2, anyValue)));
  const scopeSpans = pb.msg(2, pb.msg(1, pb.string(1, 'pb-scope')), span);
  return pb.msg(1, resource, scopeSpans);
}

// Decodes the fields of one message into {field: [values]} (varints as
// BigInt, length-delimited as Buffer). Throws on malformed input.
export function decodeFields(buf) {
  const out = {};
  let p = 0;
  const readVarint = () => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      if (p >= buf.length) throw new Error('truncated varint');
      const b = buf[p++];
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      shift += 7n;
      if (shift > 70n) throw new Error('varint too long');
    }
  };
  while (p < buf.length) {
    const key = Number(readVarint());
    const field = key >> 3;
    const wt = key & 7;
    let val;
    if (wt === 0) val = readVarint();
    else if (wt === 1) { val = buf.subarray(p, p + 8); p += 8; } else if (wt === 5) { val = buf.subarray(p, p + 4); p += 4; } else if (wt === 2) {
      const n = Number(readVarint());
      if (p + n > buf.length) throw new Error('truncated length-delimited field');
      val = buf.subarray(p, p + n);
      p += n;
    } else throw new Error(`unsupported wire type ${wt}`);
    (out[field] ||= []).push(val);
  }
  return out;
}

// google.rpc.Status {code = 1, message = 2, details = 3}.
export function decodeStatus(buf) {
  const f = decodeFields(buf);
  return {
    code: f[1] ? Number(f[1][0]) : 0,
    message: f[2] ? f[2][0].toString('utf8') : '',
    details: f[3] || [],
  };
}

// ExportTraceServiceResponse {partial_success = 1 {rejected_spans = 1,
// error_message = 2}} (the same layout for logs and metrics).
export function decodeExportResponse(buf) {
  const f = decodeFields(buf);
  if (!f[1]) return { partialSuccess: null };
  const ps = decodeFields(f[1][0]);
  return {
    partialSuccess: {
      rejected: ps[1] ? Number(ps[1][0]) : 0,
      errorMessage: ps[2] ? ps[2][0].toString('utf8') : '',
    },
  };
}
