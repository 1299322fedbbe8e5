"""The build that has nothing to do: when no input any output depends on has changed since the
last build (the same files, config, theme, code, drafts switch and output folder, and the clock
before the next gate decision that flips), the live output already is this build's.

Light to import: the command line asks here first and loads the pipeline (Markdown, Jinja,
feedgen, the stages) only when there is something to build.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple

from .cache import input_signature, load_state, state_path
from .config import SiteConfig, load_config, theme_dirs, theme_root
from .jobs import CODE_VERSION
from .manifest import intact
from .outguard import exclusive, unreachable
from .runs import BuildOptions, BuildReport, WriteReport, local_now


class Taken(NamedTuple):
    """What this run's look at the inputs found: their signature, and the stat of each file it
    looked at by its path as walked (sources.discover does not take them again)."""

    signature: str = ""
    stats: Mapping[str, os.stat_result] = MappingProxyType({})


def signature(config: SiteConfig, options: BuildOptions, stats: dict[str, os.stat_result] | None = None) -> str:
    """A fingerprint of every input of a build (cache.input_signature) and what it was asked;
    `stats`, if given, gets the stat of each file looked at."""
    # (the config file by its full name: `--config site_config.yaml` and its absolute path are one input)
    # each folder with the folder its links may lead into, as the build walks it (sources, theme)
    config_file = config.root / Path(config.path).name
    inputs = [(config_file, config_file), (config.content_dir, config.content_dir),
              *((folder, theme_root(config, folder)) for folder in theme_dirs(config))]
    return input_signature(inputs, f"{config.digest}|{options.drafts}|{config.output_dir}|{CODE_VERSION}", stats)


def unchanged_report(config: SiteConfig, options: BuildOptions, sig: str) -> BuildReport | None:
    """The last build's report (nothing written, nothing rendered) when its state has this
    signature, was built no later than now, is valid until after now, and the live output is
    intact; else None. Call with the output's lock held."""
    output, now = config.output_dir, local_now(options, config)
    state = load_state(state_path(output))
    if state is not None and state.signature == sig and state.built_at is not None \
            and state.built_at <= now < state.valid_until and intact(output):
        report: BuildReport = dataclasses.replace(state.report, write=WriteReport(0, state.report.files, 0),
                                                  rendered=0)
        return report
    return None


def built_from_current_inputs(config: SiteConfig, options: BuildOptions) -> bool:
    """Whether the last build into the config's output folder saw every input as it is now (its
    state's signature is this one), whatever the clock says; False without a state."""
    state = load_state(state_path(config.output_dir))
    return state is not None and state.signature == signature(config, options)


def skipped_build(config_path: str | Path, options: BuildOptions) -> tuple[BuildReport | None, Taken]:
    """(unchanged_report, what the look at the inputs found) for a public build of the command
    line (a drafts build goes to a folder of its own and is left to the pipeline: nothing taken); no
    report whenever anything is in doubt (a config that does not load, a lock that cannot be
    taken): the pipeline then builds and says what is wrong. The pipeline may reuse what was taken
    (build_site)."""
    if options.drafts or not options.cache:
        return None, Taken()
    try:
        config = load_config(config_path, options.output, options.edition)
        if unreachable(config.output_dir) is not None:  # (refused by the pipeline, before any lock)
            return None, Taken()
        with exclusive(config.output_dir):
            stats: dict[str, os.stat_result] = {}
            sig = signature(config, options, stats)
            return unchanged_report(config, options, sig), Taken(sig, stats)
    except Exception:  # noqa: BLE001 - the pipeline meets the same problem and reports it
        return None, Taken()
