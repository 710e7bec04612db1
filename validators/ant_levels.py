"""Build old Ant projects on a new JDK: javac's source and target levels raised to a minimum.

Defects4J's projects (and many old Ant builds) write `source="1.6"` or `target="1.5"` into
their javac tasks; javac 17 refuses any level below 7 ("Source option 6 is no longer
supported"), and an attribute in the build file wins over the `ant.build.javac.source`
property. Measured on Defects4J 3 with Java 17: Jsoup, Gson, Codec, Cli, JxPath,
JacksonCore, Closure and Time failed to compile for that reason alone.

The fix leaves the build file alone: an Ant compiler adapter of ours
(validators/ant/repairbot/ant/RaisedSourceLevel.java, Ant's in-process javac with each level
below the minimum raised to it) is compiled once against the installed Ant
(validators/java_helpers.py) and selected through `ANT_ARGS`, which the `ant` launcher
script reads (`-lib DIR -Dbuild.compiler=...`). The cache dir it lies in is one of the
sandbox's read-only binds (the same as the JaCoCo helpers').
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from validators import java_helpers

SOURCES_DIR = Path(__file__).resolve().parent / "ant"
ADAPTER = "repairbot.ant.RaisedSourceLevel"
MIN_LEVEL_PROPERTY = "repairbot.javac.min.level"


def ant_jar() -> Path:
    """The `ant.jar` of `$ANT_HOME`, else of the `ant` on PATH (Debian: /usr/share/ant)."""
    home = os.environ.get("ANT_HOME")
    if home:
        return Path(home) / "lib" / "ant.jar"
    launcher = shutil.which("ant")
    if launcher is None:
        raise java_helpers.HelperBuildError("ant not found: set ANT_HOME or put ant on PATH")
    return Path(os.path.realpath(launcher)).parents[1] / "lib" / "ant.jar"


def ant_args(min_level: int, cache_root: Path | None = None) -> list[str]:
    """Ant options that make every javac task of a build compile at `min_level` or above."""
    built = java_helpers.build(cache_root or java_helpers.default_cache_root(), SOURCES_DIR, (ant_jar(),))
    return ["-lib", str(built / "classes"), f"-Dbuild.compiler={ADAPTER}", f"-D{MIN_LEVEL_PROPERTY}={min_level}"]
