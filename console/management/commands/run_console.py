"""Start the console (daphne) and the django-q2 workers together; Ctrl-C stops both.

Used by `make run`. Needs no terminal: signals from a script or a service manager work too.
"""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


def _die_with_parent() -> None:
    """Linux: have the kernel send SIGTERM to this child if run_console itself is killed."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Command(BaseCommand):
    help = "Serve the console with daphne and run the django-q2 cluster, stopping both together."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"))
        parser.add_argument(
            "--no-workers", action="store_true", help="Serve only; run no django-q2 cluster."
        )

    def handle(self, *args, **opts):
        python = sys.executable
        url = f"http://{opts['host']}:{opts['port']}/"
        self.stdout.write(f"Sangam console on {url}  (Ctrl-C stops the console and its workers)")
        children = [
            subprocess.Popen(
                [
                    python,
                    "-m",
                    "daphne",
                    "-b",
                    opts["host"],
                    "-p",
                    str(opts["port"]),
                    "--proxy-headers",
                    "console.asgi:application",
                ],
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        ]
        if not opts["no_workers"]:
            children.append(
                subprocess.Popen(
                    [python, "manage.py", "qcluster"],
                    start_new_session=True,
                    cwd=settings.BASE_DIR,
                    preexec_fn=_die_with_parent,
                )
            )
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                if any(child.poll() is not None for child in children):
                    self.stderr.write("A console process exited; stopping the others.")
                    break
                time.sleep(0.3)
        finally:
            self._stop_all(children)
        codes = [child.returncode for child in children]
        if not stopping and any(codes):
            sys.exit(1)

    def _stop_all(self, children) -> None:
        # Ask each leader to stop (django-q2 stops its own workers in order), then make sure
        # that nothing of its process group is left.
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.stdout.write("Stopped the console and its workers.")
