"""`deskterm intake alertmanager` as a command: one notification on stdin, or the listener started by the real
program (`--listen 127.0.0.1:0`: the port it bound is on its first line), refusals in one line with exit 2."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys

from alertpayloads import POLICY, alert, notification, storm

from deskterm_testing import patience, run_cli

CONFIG = (
    POLICY
    + """
[alertmanager]
storm = 3
"""
)


def test_stdin(tmp_path) -> None:
    cfg = tmp_path / "desk.toml"
    cfg.write_text(CONFIG)
    base = ("--db", str(tmp_path / "desk.db"), "--config", str(cfg), "intake", "alertmanager")
    body = notification(*storm(3), group_key="g").decode()
    r = run_cli(*base, input=body)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["ticket #1", "ticket #2", "ticket #3 (major incident #4)"]
    assert run_cli(*base, input=body).stdout.splitlines() == ["duplicate #1", "duplicate #2", "duplicate #3"]
    for bad, why in [
        ("{", "alertmanager: body: not JSON"),
        ('{"version": "4", "groupKey": "g", "alerts": [{"status": "firing"}]}', "alertmanager: alerts[0].labels"),
        ("x" * (1024 * 1024 + 1), "alertmanager: body: 1048577 bytes, more than the limit"),
    ]:
        r = run_cli(*base, input=bad)
        assert r.returncode == 2 and r.stderr.startswith(why) and r.stderr.count("\n") == 1, r.stderr
    shown = json.loads(run_cli("--db", str(tmp_path / "desk.db"), "--config", str(cfg), "show", "4", "--json").stdout)
    assert shown["subject"] == "Alert storm: alertname=DiskFull"  # no count: later alerts are linked too
    assert "3 alerts at once when it opened" in shown["description"]


def test_the_listener_of_the_real_program(tmp_path) -> None:
    cfg = tmp_path / "desk.toml"
    cfg.write_text(CONFIG)
    token = tmp_path / "token"
    token.write_text("a-token-of-thirty-two-characters\n")
    base = [sys.executable, "-m", "deskterm.cli", "--db", str(tmp_path / "desk.db"), "--config", str(cfg)]
    for args, why in [
        (["--listen", "0.0.0.0:9099", "--token-file", str(token)], "--listen: 0.0.0.0 is not a loopback address"),
        (["--listen", "127.0.0.1:9099"], "--token-file: required with --listen"),
        (["--listen", "localhost", "--token-file", str(token)], "--listen: 'localhost': give HOST:PORT"),
    ]:
        r = subprocess.run(
            [*base, "intake", "alertmanager", *args], capture_output=True, text=True, timeout=patience(60)
        )
        assert r.returncode == 2 and r.stderr.startswith(why), r.stderr
    listen = [*base, "intake", "alertmanager", "--listen", "127.0.0.1:0", "--token-file", str(token)]
    # ctrl+c as on a terminal: SIGINT at its default, whatever this worker inherited (a process started with SIGINT
    # ignored, as a shell's background job is, keeps it ignored: the test then waited for an exit that never came)
    proc = subprocess.Popen(
        listen,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        first = proc.stderr.readline()
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)/", first).group(1))

        def post(body: bytes, auth: str) -> int:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=patience(30))
            conn.request("POST", "/", body=body, headers={"Authorization": auth})
            status = conn.getresponse().status
            conn.close()
            return status

        assert post(notification(alert(severity="critical")), "Bearer a-token-of-thirty-two-characters") == 200
        assert post(notification(alert()), "Bearer nope") == 401
        assert proc.stderr.readline() == "alertmanager: 200 1 alert: 1 ticket\n"
        assert proc.stderr.readline() == "alertmanager: 401 refused: missing or wrong bearer token\n"
        # a client that resets its kept-alive connection (it closed with the answer unread, as http.client
        # does; CI saw socketserver's traceback for it, between rules of dashes, once in a while): not a line
        body = notification(alert(severity="critical", instance="db-2", fingerprint="f0f1f2f3f4f5f6f7"))
        with socket.create_connection(("127.0.0.1", port), timeout=patience(30)) as sock:
            sock.sendall(
                b"POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a-token-of-thirty-two-characters\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            assert sock.recv(12, socket.MSG_PEEK) == b"HTTP/1.1 200"
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close: a reset
        assert proc.stderr.readline() == "alertmanager: 200 1 alert: 1 ticket\n"
        assert post(notification(alert()), "Bearer nope") == 401
        assert proc.stderr.readline() == "alertmanager: 401 refused: missing or wrong bearer token\n"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=patience(30))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr.read()
    # stopped as a service manager stops it (systemd's SIGTERM): closed the same way, exit 0
    proc = subprocess.Popen(listen, stderr=subprocess.PIPE, text=True, env={**os.environ})
    try:
        assert proc.stderr.readline().startswith("alertmanager: listening on http://127.0.0.1:")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=patience(30))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr.read()
