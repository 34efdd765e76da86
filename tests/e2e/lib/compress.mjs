// Compression for raw requests: gzip from node's zlib; zstd from zlib when
// this node has it (22.15+), else the `zstd` command-line tool.
import { spawnSync } from 'node:child_process';
import zlib from 'node:zlib';

export function gzip(buf) {
  return zlib.gzipSync(buf);
}

export function zstd(buf, level = 3) {
  if (typeof zlib.zstdCompressSync === 'function') {
    return zlib.zstdCompressSync(buf, { params: { [zlib.constants.ZSTD_c_compressionLevel]: level } });
  }
  const r = spawnSync('zstd', [`-${level}`, '-q', '-c'], { input: buf, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`zstd failed: ${r.stderr}`);
  return r.stdout;
}

export function unzstd(buf) {
  if (typeof zlib.zstdDecompressSync === 'function') return zlib.zstdDecompressSync(buf);
  const r = spawnSync('zstd', ['-d', '-q', '-c'], { input: buf, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`unzstd failed: ${r.stderr}`);
  return r.stdout;
}
