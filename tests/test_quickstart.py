"""The quick start runs on a fresh machine and leaves the user's default database alone."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_quick_start_records_into_its_own_folder_and_says_how_to_remove_it(tmp_path):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "QUICKSTART_DIR": str(tmp_path / "qs"), "HOME": str(tmp_path / "home"),
           "XDG_DATA_HOME": str(tmp_path / "data")}
    env.pop("SESSIONSTATS_DB", None)
    done = subprocess.run(["bash", str(ROOT / "examples" / "quickstart.sh")], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Session Overview" in done.stdout and '"story_count": 3' in done.stdout
    assert f"remove it with: rm -r {tmp_path / 'qs'}" in done.stderr
    assert (tmp_path / "qs" / "quickstart.duckdb").is_file()
    assert not (tmp_path / "data" / "sessionstats").exists()  # the default database was never made
