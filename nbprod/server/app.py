"""``NbprodApp``: the jupyter_server extension that serves nbprod's REST API."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from jupyter_server.extension.application import ExtensionApp
from traitlets import Int, Unicode

from nbprod.config import ProjectConfig, default_jobs, load_config
from nbprod.server.jobs import JobManager
from nbprod.server.planning import PlanPool, plan_workers
from nbprod.server.warm import WarmTemplates


@dataclasses.dataclass
class ServerState:
    """What every handler shares: the project, the root folder and the workers."""

    config: ProjectConfig
    root_dir: Path
    #: threads for blocking calls (files, the database, export) off the event loop
    pool: ThreadPoolExecutor
    default_jobs: int
    dask_scheduler: str
    jobs: JobManager
    #: processes for export plans: CPU work off the event loop and the GIL
    plans: PlanPool
    #: warm kernel templates, shared with the job workers
    warm: WarmTemplates


class NbprodApp(ExtensionApp):
    """nbprod's server extension: export, runs, history, gate and push over REST."""

    name = "nbprod"

    database_url = Unicode(
        "",
        help="SQLAlchemy URL of the run history (default: the project's [tool.nbprod] database).",
    ).tag(config=True)
    default_jobs = Int(
        0, help="Parallel runs of a batch when a request gives none (0: one per CPU)."
    ).tag(config=True)
    dask_scheduler = Unicode(
        "",
        help="Address of a Dask scheduler (tcp://host:port) for batches run with Dask.",
    ).tag(config=True)
    git_remote = Unicode(
        "",
        help="Git remote that push sends to (default: the project's [tool.nbprod.push]).",
    ).tag(config=True)

    def initialize_settings(self) -> None:
        """Find the project from the server's root folder and apply the settings."""
        assert self.serverapp is not None
        root_dir = Path(self.serverapp.root_dir).resolve()
        config = load_config(root_dir)
        if self.database_url:
            config = dataclasses.replace(config, database=self.database_url)
        if self.git_remote:
            config = dataclasses.replace(
                config, push=dataclasses.replace(config.push, remote=self.git_remote)
            )
        warm_templates = WarmTemplates(config, self.log)
        self.state = ServerState(
            config=config,
            root_dir=root_dir,
            pool=ThreadPoolExecutor(max_workers=4, thread_name_prefix="nbprod"),
            default_jobs=self.default_jobs or default_jobs(),
            dask_scheduler=self.dask_scheduler,
            jobs=JobManager(config, self.log, env=warm_templates.env()),
            plans=PlanPool(plan_workers()),
            warm=warm_templates,
        )
        interrupted = self.state.jobs.recover()
        if interrupted:
            self.log.warning("nbprod: marked %d interrupted job(s)", len(interrupted))
        self.settings["nbprod"] = self.state
        self.log.info(
            "nbprod: serving project %s (package %s)", config.root, config.package
        )

    def initialize_handlers(self) -> None:
        """Register the REST routes under ``/nbprod/api/``."""
        from nbprod.server.handlers import routes

        self.handlers.extend(routes())

    async def stop_extension(self) -> None:
        """Stop the workers (they record their runs cancelled), plan processes and threads."""
        state = getattr(self, "state", None)
        if state is not None:
            await state.jobs.stop()
            state.pool.shutdown(wait=False, cancel_futures=True)
            state.plans.shutdown()
            state.warm.stop()
