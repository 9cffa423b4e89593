"""Release-shaped tarballs built from the distribution's binaries, and a loopback server for them: the roles'
tarball install path (component_install) offline, with real sha256 sums."""
import hashlib
import io
import tarfile
from contextlib import contextmanager

from tests.lib.receivers import http_server, stop_http_server


def release_tarball(path, binary, member, payload_suffix=b""):
    """Write a gzip tarball at `path` holding the file `binary` as `member` (mode 0755), shaped like an upstream
    release (`<name>-<version>.linux-amd64/<name>`); `payload_suffix` changes its content (a tampered mirror).
    Returns the tarball's sha256."""
    with open(binary, "rb") as fh:
        data = fh.read() + payload_suffix
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(member)
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


@contextmanager
def serve_releases(tarballs):
    """Serve each file of `tarballs` ({url path: file path}, e.g. {"/good.tar.gz": ...}) on 127.0.0.1; yields the
    base URL."""
    server = http_server()
    try:
        for url_path, file_path in tarballs.items():
            with open(file_path, "rb") as fh:
                server.expect_request(url_path, method="GET").respond_with_data(fh.read(), content_type="application/gzip")
        yield "http://127.0.0.1:%d" % server.port
    finally:
        stop_http_server(server)
