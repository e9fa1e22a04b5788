from __future__ import annotations

import os
import secrets
import sys
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from eventviz import embedded, stack
from flows.formats.scenario import scenario_load_file, shipped_scenarios
from flows.models import Run, RunStatus, Topology

ADMIN = "admin"


def _connect_host(host: str) -> str:
    """Where to reach a server bound to ``host`` from this machine."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "::1"
    return host.strip("[]")


class Command(BaseCommand):
    help = "Run EventViz: embedded Redis (unless REDIS_URL), a Celery worker and Daphne."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("CELERY_CONCURRENCY", "8")),
            help="Threads of the Celery worker.",
        )

    def handle(self, *args: Any, host: str, port: int, workers: int, **options: Any) -> None:
        supervisor = stack.Supervisor()
        fresh_redis = False
        supervisor.install_signal_handlers()
        # Daphne's default websocket origins are built from PORT (eventviz/origins.py).
        os.environ["PORT"] = str(port)
        try:
            if settings.REDIS_EMBEDDED:
                redis_server = embedded.EmbeddedRedis(settings.VAR_DIR)
                if redis_server.start():
                    supervisor.on_stop(lambda: redis_server.stop(timeout=3))
                    self.stdout.write(f"Embedded Redis on {redis_server.socket}")
                    fresh_redis = True
                else:
                    self.stdout.write(f"Using the embedded Redis already on {redis_server.socket}")
            elif not embedded.ping(settings.REDIS_URL):
                raise CommandError(f"REDIS_URL={settings.REDIS_URL} does not answer")

            call_command("migrate", interactive=False, verbosity=0)
            if fresh_redis:
                # The embedded Redis keeps nothing on disk: runs it drove cannot go on.
                ended = Run.objects.filter(status=RunStatus.RUNNING).update(
                    status=RunStatus.STOPPED, stopped_at=timezone.now()
                )
                if ended:
                    self.stdout.write(f"Marked {ended} run(s) of the last start as stopped")
            self._load_new_scenarios()
            login = self._ensure_admin()
            supervisor.check_parent()

            supervisor.start("celery worker", stack.celery_worker_argv(concurrency=workers))
            supervisor.start("daphne", stack.daphne_argv(host=host, port=port))

            def alive() -> bool:
                supervisor.check_parent()
                return all(process.poll() is None for _name, process in supervisor.children)

            # Wait for the worker and Daphne directly, not through /healthz: HTTP probes,
            # and their 503s while the worker boots, would only put noise in the log.
            if not self._wait_for_worker(timeout=60, alive=alive):
                self.stderr.write("The Celery worker has not answered yet; see /healthz")
            url = f"http://{host}:{port}/"
            if not stack.wait_for_port(_connect_host(host), port, timeout=60, alive=alive):
                raise CommandError("Daphne did not start; see the messages above")
            self.stdout.write("")
            self.stdout.write(
                "Your own code (AWS SDKs): issue a key in admin (API keys) or with\n"
                "  .venv/bin/python manage.py apikey shop\n"
                "and export the variables it prints (README: Point your own code at EventViz)."
            )
            # The last lines, together: where to go and how to log in.
            self.stdout.write("")
            self.stdout.write(
                self.style.SUCCESS(f"EventViz is running at {url}  (Ctrl-C stops it)")
            )
            self.stdout.write(f"Admin:    {url}admin/")
            for line in login:
                self.stdout.write(line)
            self.stdout.flush()
            exited = supervisor.wait()
            raise CommandError(f"{exited} exited; stopping everything")
        except KeyboardInterrupt:
            self.stdout.write("\nStopping…")
        finally:
            supervisor.shutdown()
            self.stdout.write("Stopped.")

    def _wait_for_worker(self, *, timeout: float, alive: Callable[[], bool]) -> bool:
        from eventviz.celery import app

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and alive():
            try:
                if app.control.ping(timeout=0.5):
                    return True
            except Exception:  # the broker is still coming up: try again
                time.sleep(0.5)
        return False

    def _load_new_scenarios(self) -> None:
        """Shipped scenarios are loaded once; later edits in admin are never overwritten."""
        known = set(Topology.objects.values_list("slug", flat=True))
        for path in shipped_scenarios():
            if path.stem in known:
                continue
            topology = scenario_load_file(str(path))
            self.stdout.write(f"Loaded scenario {topology.slug} from {path.name}")

    def _ensure_admin(self) -> list[str]:
        """Create the admin account on a fresh database; return the login lines to print.

        The generated password goes to a file only its user can read (var/admin_password)
        and to the terminal, never to a log: with stdout not a terminal (`make run > log`),
        the lines point at the file instead. The file is forgotten once the password
        has been changed.
        """
        User = get_user_model()
        password_file = settings.VAR_DIR / "admin_password"
        reset = "reset it: .venv/bin/python manage.py changepassword admin"
        if not User.objects.filter(is_superuser=True).exists():
            password = secrets.token_urlsafe(12)
            User.objects.create_superuser(ADMIN, f"{ADMIN}@localhost", password)
            embedded.write_private(password_file, password + "\n")
        admin = User.objects.filter(username=ADMIN, is_superuser=True).first()
        if admin is None:
            return ["Login:    your superuser account"]
        saved = password_file.read_text().strip() if password_file.exists() else ""
        if not saved or not admin.check_password(saved):
            password_file.unlink(missing_ok=True)
            return [f"Login:    {ADMIN}", f"Password: the one you set ({reset})"]
        if sys.stdout.isatty():
            shown = f"{saved}  (generated; also in {password_file}; change it in admin)"
        else:
            shown = f"in {password_file} (readable only by you; not printed to a log)"
        return [f"Login:    {ADMIN}", f"Password: {shown}"]
