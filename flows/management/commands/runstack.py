from __future__ import annotations

import os
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from eventviz import embedded, stack
from flows.formats.scenario import scenario_load_file, shipped_scenarios
from flows.models import Run, RunStatus, Topology


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
        try:
            if settings.REDIS_EMBEDDED:
                redis_server = embedded.EmbeddedRedis(settings.VAR_DIR)
                if redis_server.start():
                    supervisor.on_stop(redis_server.stop)
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
            self._ensure_admin()

            supervisor.start("celery worker", stack.celery_worker_argv(concurrency=workers))
            daphne = supervisor.start("daphne", stack.daphne_argv(host=host, port=port))
            url = f"http://{host}:{port}/"
            status = stack.wait_for_http(
                url + "healthz", timeout=60, alive=lambda: daphne.poll() is None, want=200
            )
            if status is None:
                raise CommandError("Daphne did not start; see the messages above")
            if status != 200:
                self.stderr.write(f"Not healthy yet (HTTP {status}); see {url}healthz")
            self.stdout.write(
                self.style.SUCCESS(f"EventViz is running at {url}  (Ctrl-C stops it)")
            )
            self.stdout.write(f"Admin: {url}admin/")
            self.stdout.write(
                "Your own code (AWS SDKs): issue a key in admin (API keys) or with\n"
                "  .venv/bin/python manage.py apikey shop\n"
                "and export the variables it prints (README: Point your own code at EventViz)."
            )
            exited = supervisor.wait()
            raise CommandError(f"{exited} exited; stopping everything")
        except KeyboardInterrupt:
            self.stdout.write("\nStopping…")
        finally:
            supervisor.shutdown()
            self.stdout.write("Stopped.")

    def _load_new_scenarios(self) -> None:
        """Shipped scenarios are loaded once; later edits in admin are never overwritten."""
        known = set(Topology.objects.values_list("slug", flat=True))
        for path in shipped_scenarios():
            if path.stem in known:
                continue
            topology = scenario_load_file(str(path))
            self.stdout.write(f"Loaded scenario {topology.slug} from {path.name}")

    def _ensure_admin(self) -> None:
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser("admin", "admin@localhost", password)
        self.stdout.write(
            self.style.WARNING(
                f"Created the admin account: user 'admin', password '{password}' "
                "(shown once; change it in admin)"
            )
        )
