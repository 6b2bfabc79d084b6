"""Turns engine settings into an Engine: the one place that picks a backend."""

from __future__ import annotations

import logging
from pathlib import Path

from zhiyan.config import EngineSettings
from zhiyan.engine import models
from zhiyan.engine.base import Engine
from zhiyan.engine.models import Progress
from zhiyan.engine.sizing import auto_parallel, usable_memory

log = logging.getLogger(__name__)


def build_engine(settings: EngineSettings, progress: Progress | None = None) -> Engine:
    if settings.backend == "openai":
        from zhiyan.engine.openai_compat import OpenAICompatEngine

        return OpenAICompatEngine(
            settings.base_url,
            model=settings.remote_model,
            api_key=settings.api_key,
            context_size=settings.context_size,
        )
    from zhiyan.engine.llamacpp import LlamaCppEngine

    path = models.resolve(settings.model, settings.cache_dir, progress)
    model_id = settings.model if settings.model in models.REGISTRY else Path(settings.model).stem
    parallel = settings.parallel
    if parallel == "auto":
        memory = usable_memory()
        parallel = auto_parallel(memory)
        log.info("parallel = auto: %d slots for %s of usable memory", parallel,
                 f"{memory / 2**30:.1f} GiB" if memory else "an unknown amount")
    return LlamaCppEngine(
        path,
        model_id=f"zhiyan-{model_id}",
        context_size=settings.context_size,
        parallel=parallel,
        threads=settings.threads,
        max_waiting=settings.max_waiting,
        prompt_cache_mib=settings.prompt_cache_mib,
        lookup_draft=settings.lookup_draft,
        llama_logs=settings.llama_logs,
    )
