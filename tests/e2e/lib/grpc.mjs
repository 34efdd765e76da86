// Raw OTLP/gRPC calls with @grpc/grpc-js: a generic client whose
// serialisers pass Buffers through, so a test can send any bytes.
import grpc from '@grpc/grpc-js';

export const METHODS = {
  traces: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
  logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
  metrics: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
};

export function grpcClient(addr, { gzip = false } = {}) {
  const opts = { 'grpc.max_send_message_length': -1, 'grpc.max_receive_message_length': -1 };
  if (gzip) opts['grpc.default_compression_algorithm'] = 2; // gzip
  return new grpc.Client(addr, grpc.credentials.createInsecure(), opts);
}

// Resolves {code, details, response, metadata} whether the call failed or
// not (code 0 = OK).
export function unary(client, method, body, { timeoutMs = 10000 } = {}) {
  return new Promise((resolve) => {
    let trailers = null;
    const call = client.makeUnaryRequest(method, (b) => b, (b) => b, Buffer.from(body),
      new grpc.Metadata(), { deadline: Date.now() + timeoutMs },
      (err, response) => {
        if (err) resolve({ code: err.code, details: err.details, metadata: err.metadata, trailers });
        else resolve({ code: 0, details: '', response, trailers });
      });
    call.on('status', (s) => { trailers = s.metadata; });
  });
}

export const GRPC = grpc.status;
