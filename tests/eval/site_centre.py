"""The evaluation's real path: a `tollgate central` and one `tollgate
collector` site per country, on loopback, as tests/e2e starts them. Each
site runs the policy under test plus its own site file, receives the corpus
over OTLP/HTTP JSON, and forwards to the centre; `tollgate central export`
then says what arrived.

Each place's records carry their own `service.name` (`eval-p<N>`), so what
the centre holds can be told apart by site and place: span summaries, RED
rows, log templates and metric points all name their service.
"""
import json, os, secrets, socket, subprocess, time, urllib.request


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_ready(url, proc, what, timeout=20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError('%s exited during start-up (%s)' % (what, proc.returncode))
        try:
            with urllib.request.urlopen(url + '/readyz', timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError('%s not ready within %.0f s' % (what, timeout))


def stop(proc, timeout=15.0):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Estate:
    """One centre; sites are added (and stopped) one at a time."""

    def __init__(self, tollgate, workdir, site_names):
        self.tollgate = os.path.abspath(tollgate)
        self.dir = workdir
        self.tokens = {n: secrets.token_hex(16) for n in site_names}
        lines = ['sites:']
        for n, t in self.tokens.items():
            with open(os.path.join(workdir, n + '.token'), 'w') as f:
                f.write(t + '\n')
            os.chmod(os.path.join(workdir, n + '.token'), 0o600)
            lines += ['  - name: %s' % n, '    token_file: %s.token' % n]
        with open(os.path.join(workdir, 'sites.yaml'), 'w') as f:
            f.write('\n'.join(lines) + '\n')
        self.central_data = os.path.join(workdir, 'central')
        self.port = free_port()
        self.url = 'http://127.0.0.1:%d' % self.port
        self.log = open(os.path.join(workdir, 'central.log'), 'w')
        self.central = subprocess.Popen(
            [self.tollgate, 'central', '--data', self.central_data, '--listen', '127.0.0.1:%d' % self.port,
             '--sites', os.path.join(workdir, 'sites.yaml')],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=workdir)
        wait_ready(self.url, self.central, 'central')

    def export(self):
        p = subprocess.run([self.tollgate, 'central', 'export', '--data', self.central_data],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError('central export: %s' % p.stderr)
        return [json.loads(line) for line in p.stdout.splitlines() if line]

    def run_site(self, name, rules, country, batches, expect_spans, timeout=60.0):
        """Starts site `name` under `rules`, posts `batches` ([(signal, doc)])
        over OTLP/HTTP JSON, waits until the centre holds `expect_spans`
        span summaries of the site (and its logs and metrics), and stops it."""
        d = os.path.join(self.dir, name)
        os.makedirs(d, exist_ok=True)
        token_file = os.path.join(d, 'central.token')
        with open(token_file, 'w') as f:
            f.write(self.tokens[name] + '\n')
        os.chmod(token_file, 0o600)
        fwd = os.path.join(d, 'forward.yaml')
        with open(fwd, 'w') as f:
            f.write('forward:\n  outbox:\n    flush_interval: "200ms"\n  heartbeat_interval: "500ms"\n'
                    '  retry:\n    initial: "100ms"\n    max: "1s"\n  view: "rules"\n'
                    '  jurisdiction: "%s"\n' % (country or ''))
        g, h, a = free_port(), free_port(), free_port()
        args = [self.tollgate, 'collector', '--data', os.path.join(d, 'data'), '--site', name,
                '--otlp-grpc', '127.0.0.1:%d' % g, '--otlp-http', '127.0.0.1:%d' % h,
                '--api', '127.0.0.1:%d' % a, '--central', self.url, '--central-token-file', token_file]
        for r in rules:
            args += ['--rules', os.path.abspath(r)]
        log = open(os.path.join(d, 'collector.log'), 'w')
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=d,
                                env=dict(os.environ, TOLLGATE_FORWARD_CONFIG=fwd))
        try:
            wait_ready('http://127.0.0.1:%d' % a, proc, 'site ' + name)
            kinds = set()
            for signal, doc in batches:
                kinds.add(signal)
                body = json.dumps(doc).encode()
                req = urllib.request.Request('http://127.0.0.1:%d/v1/%s' % (h, signal), data=body,
                                             headers={'Content-Type': 'application/json'})
                with urllib.request.urlopen(req, timeout=30) as r:
                    r.read()
            want = {'traces': 'span', 'logs': 'log', 'metrics': 'metric'}
            deadline = time.time() + timeout
            while True:
                recs = [r for r in self.export() if r.get('site') == name]
                spans = sum(1 for r in recs if r.get('type') == 'span')
                types = {r.get('type') for r in recs}
                if spans >= expect_spans and all(want[k] in types for k in kinds):
                    break
                if time.time() > deadline:
                    raise RuntimeError('site %s: %d of %d spans (%s) at the centre after %.0f s'
                                       % (name, spans, expect_spans, sorted(types), timeout))
                time.sleep(0.5)
            time.sleep(1.0)  # a last flush of log templates and metric points
        finally:
            stop(proc)
            log.close()

    def close(self):
        stop(self.central)
        self.log.close()
