"""What the HTTPS-store tests start themselves: a CA and a server certificate made with openssl,
versitygw serving TLS on that certificate, and a request-recording proxy (stdlib) that logs the
headers of every request on its way to the stack's versitygw, for the headers versitygw neither
keeps nor returns (server-side encryption, storage class, the payload hash).

Each is started by a test and stopped when it ends; every wait is bounded."""

from __future__ import annotations

import http.client
import os
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

VERSITYGW = Path(os.environ.get("VERSITYGW", Path.home() / ".cache/sinets3/bin/versitygw"))


def free_port(variable: str) -> int:
    """The port named by `variable` (for runs that must stay on given ports), else a free one."""
    if os.environ.get(variable):
        return int(os.environ[variable])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Certificates:
    ca: Path        # the CA's certificate (PEM): what s3.ssl.ca.file names
    cert: Path      # the server's certificate, for 127.0.0.1 and localhost, signed by the CA
    key: Path


def make_certificates(directory: Path) -> Certificates:
    """A CA of the test's own and a server certificate it signs (EC P-256, a day long)."""
    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

    ca_key, ca, key, csr, cert = (directory / n for n in ("ca.key", "ca.pem", "server.key", "server.csr",
                                                          "server.pem"))
    ext = directory / "server.ext"
    ext.write_text("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n"
                   "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
            "-subj", "/CN=sinets3 e2e test CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-keyout", str(ca_key), "-out", str(ca))
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", str(key), "-out", str(csr))
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
            "-days", "1", "-extfile", str(ext), "-out", str(cert))
    for path in (ca, cert, key):
        path.chmod(0o644)  # the worker reads the CA file
    return Certificates(ca, cert, key)


def wait_listening(port: int, process: subprocess.Popen | None, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if process is not None and process.poll() is not None:
                raise AssertionError(f"{what} exited with {process.returncode}")
            if time.monotonic() >= deadline:
                raise AssertionError(f"{what} did not listen on port {port} within {timeout:.0f} s")
            time.sleep(0.1)


class TlsVersitygw:
    """versitygw on https://127.0.0.1:PORT with the test's certificate, objects under `root`."""

    def __init__(self, certificates: Certificates, root: Path, access: str, secret: str):
        assert VERSITYGW.exists(), f"versitygw not found at {VERSITYGW} (scripts/install-versitygw.sh)"
        self.port = free_port("SINETS3_TLS_S3_PORT")
        self.root = root
        self.url = f"https://127.0.0.1:{self.port}"
        root.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [str(VERSITYGW), "--port", f"127.0.0.1:{self.port}", "--access", access, "--secret", secret,
             "--cert", str(certificates.cert), "--key", str(certificates.key), "--quiet", "posix", str(root)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_listening(self.port, self.process, "versitygw (TLS)")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]   # lower-case names


@dataclass
class RecordingProxy:
    """A reverse proxy on 127.0.0.1 (HTTPS when given certificates) that records each request's
    method, path and headers and passes it on unchanged, Host included so that the SigV4
    signature still holds, to `upstream` (host, port) over plain HTTP."""
    upstream: tuple[str, int]
    certificates: Certificates | None = None
    requests: list[Recorded] = field(default_factory=list)

    def start(self) -> "RecordingProxy":
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def forward(self):
                headers = {k.lower(): v for k, v in self.headers.items()}
                proxy.requests.append(Recorded(self.command, self.path, headers))
                body = self.rfile.read(int(headers.get("content-length", "0") or 0))
                upstream = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                try:
                    upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                    for name, value in self.headers.items():
                        upstream.putheader(name, value)
                    upstream.endheaders(body)
                    answer = upstream.getresponse()
                    data = answer.read()
                finally:
                    upstream.close()
                self.send_response_only(answer.status, answer.reason)
                for name, value in answer.getheaders():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = forward

        self.port = free_port("SINETS3_PROXY_PORT")
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        if self.certificates is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.certificates.cert, self.certificates.key)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        scheme = "https" if self.certificates else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)

    def uploads(self, bucket: str) -> list[Recorded]:
        """PUTs of objects and creations of multipart uploads in `bucket`."""
        prefix = f"/{bucket}/"
        return [r for r in self.requests if r.path.startswith(prefix) and
                (r.method == "PUT" or (r.method == "POST" and "uploads" in r.path))]
