"""Shared fixtures (tests/ and tests/machinery/): a real HTTP server on 127.0.0.1, isolated data/output folders,
a small stand-in, real photos, and a clean slate of caveats."""
import http.server
import importlib.util
import shutil
import socket
import sys
import threading
from pathlib import Path

import pytest

import helpers
from machinery import caveats, standins


class _Handler(http.server.BaseHTTPRequestHandler):
    routes = {}  # path -> (body bytes, behaviour): 'ok', 'truncate' (announce more bytes than sent), 404

    def do_GET(self):
        body, behaviour = self.routes.get(self.path, (b"", 404))
        self.server.hits[self.path] = self.server.hits.get(self.path, 0) + 1   # counted before the client can return
        if behaviour == 404:
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if behaviour == "truncate" else body)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    """A real HTTP server on 127.0.0.1 (random port). Register files with server.serve(path, body, behaviour)."""
    routes = {}
    handler = type("Handler", (_Handler,), {"routes": routes})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.hits = {}
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    server.serve = lambda path, body, behaviour="ok": routes.__setitem__(path, (body, behaviour))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port():
    """A port on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def hub(monkeypatch):
    """A private copy of DATA_HUB that tests may extend; restored afterwards."""
    monkeypatch.setattr(helpers, "DATA_HUB", dict(helpers.DATA_HUB))
    monkeypatch.setattr(caveats, "_CAVEATS", {})
    return helpers.DATA_HUB


@pytest.fixture
def data_root(tmp_path, monkeypatch):
    root = tmp_path / "data"
    monkeypatch.setenv("COURSE_DATA_DIR", str(root))
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path / "outputs"))
    return root


@pytest.fixture(scope="session")
def cifar_standin(tmp_path_factory):
    """A 200-image cifar10_tiny stand-in (read-only: copy it before changing it)."""
    return standins.make_standin("cifar10_tiny", tmp_path_factory.mktemp("cifar"), n_train=200, n_test=7)


@pytest.fixture
def cifar_copy(cifar_standin, tmp_path):
    dst = tmp_path / "kaggle_cifar10_tiny"
    shutil.copytree(cifar_standin, dst)
    return dst


@pytest.fixture
def no_caveats(monkeypatch):
    """No [STAND-IN DATA] / [RANDOM WEIGHTS] caveat from an earlier test leaks into this one."""
    monkeypatch.setattr(caveats, "_CAVEATS", {})


def _test_module(name):
    """tests/<name>.py, imported once as `name` so that test files can `import name` under pytest's default and
    importlib import modes alike (the latter does not put tests/ on sys.path)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


photo_sets = _test_module("real_photo_sets")
_test_module("support")
_test_module("notebook_runs")
_test_module("english")
_test_module("kaggle_tree")


@pytest.fixture(scope="session")
def real_photos(tmp_path_factory):
    """The four datasets of lectures 37-40 built from real photos that installed wheels ship (tests/real_photo_sets.py
    says where each file comes from). A dict: 'hotdog', 'cifar', 'dog', 'leaves' -> data folder. Read-only: copy a
    folder before changing it (reorganising writes into it)."""
    try:
        return photo_sets.build_all(tmp_path_factory.mktemp("real_photos"))
    except photo_sets.MissingSource as e:
        pytest.fail(str(e))
