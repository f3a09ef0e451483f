"""The built wheel in a fresh virtual environment, with no checkout on the path: the commands
the README gives work (``--version``, ``run-example``, ``dsm-util check``, ``commit-admin``).

The wheel is built once per session from a copy of the sources. To stay fast and offline the new
venv has no pip: the wheel is installed with this interpreter's pip (``--python``, ``--no-deps``,
``--no-index``), and the dependencies (lark, msgpack, click, rich) come from this environment
through a ``.pth`` file naming their directories.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_support import ROOT

from commitdb import CommitDatabase, __version__

DEPENDENCIES = ("lark", "msgpack", "click", "rich")


def _run(*args: str | Path, cwd: Path | None = None, env: dict | None = None,
         timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=timeout)


def _dependency_dirs() -> list[str]:
    import importlib

    return sorted({str(Path(importlib.import_module(name).__file__).resolve().parents[1]) for name in DEPENDENCIES})


@pytest.fixture(scope="session")
def installed(tmp_path_factory) -> dict:
    """{"bin": the fresh venv's bin directory, "env": an environment without the checkout}."""
    base = tmp_path_factory.mktemp("wheel")
    project = base / "project"
    project.mkdir()
    shutil.copytree(ROOT / "src", project / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, project / name)
    built = _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", base / "dist", project,
                 timeout=300)
    assert built.returncode == 0, built.stderr
    wheel = next((base / "dist").glob("commitdb-*.whl"))
    venv = base / "venv"
    made = _run(sys.executable, "-m", "venv", "--without-pip", venv)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    site = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
    Path(site, "commitdb_test_dependencies.pth").write_text("\n".join(_dependency_dirs()) + "\n")
    done = _run(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps", "--no-index",
                wheel)
    assert done.returncode == 0, done.stderr
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = str(venv / "bin") + os.pathsep + env.get("PATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    return {"bin": venv / "bin", "env": env, "site": Path(site), "wheel": wheel}


def test_the_wheel_carries_the_example_model_and_the_console_scripts(installed):
    import zipfile

    names = zipfile.ZipFile(installed["wheel"]).namelist()
    assert "commitdb/example_models/tuto.dsm" in names
    entry_points = zipfile.ZipFile(installed["wheel"]).read(
        next(n for n in names if n.endswith("entry_points.txt"))).decode()
    for script in ("commitdb", "commit-database-server", "commit-admin", "dsm-util"):
        assert f"{script} = commitdb.cli." in entry_points
        assert (installed["bin"] / script).exists()


def test_commitdb_comes_from_the_wheel_not_the_checkout(installed, tmp_path):
    done = _run(installed["bin"] / "python", "-c", "import commitdb; print(commitdb.__file__)", cwd=tmp_path,
                env=installed["env"])
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).is_relative_to(installed["site"])


def test_version(installed, tmp_path):
    done = _run(installed["bin"] / "commitdb", "--version", cwd=tmp_path, env=installed["env"])
    assert (done.returncode, done.stdout) == (0, f"commitdb {__version__}\n")


def test_dsm_util_check_and_commit_admin_help(installed, tmp_path):
    model = tmp_path / "tuto.dsm"
    model.write_text((ROOT / "src" / "commitdb" / "example_models" / "tuto.dsm").read_text())
    done = _run(installed["bin"] / "dsm-util", "check", model, cwd=tmp_path, env=installed["env"])
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"OK {model}: 7 types, 5 attachments")
    done = _run(installed["bin"] / "commit-admin", "--help", cwd=tmp_path, env=installed["env"])
    assert done.returncode == 0 and done.stdout.startswith("Usage: commit-admin ")
    for command in ("reset", "delete", "reduce_heads", "sync"):
        assert command in done.stdout
    done = _run(installed["bin"] / "commit-database-server", "--help", cwd=tmp_path, env=installed["env"])
    assert done.returncode == 0 and "--socket-path" in done.stdout


def test_run_example_serves_until_interrupted(installed, tmp_path):
    proc = subprocess.Popen([str(installed["bin"] / "commitdb"), "run-example", "--port", "0"], cwd=tmp_path,
                            env=installed["env"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("serving on "):
                break
        assert lines and lines[0] == "created example.cdb (the Tuto model, a few commits)\n", lines
        address = lines[-1].removeprefix("serving on ").split(" ")[0]
        host, port = address.rsplit(":", 1)
        assert host == "127.0.0.1" and int(port) > 0
        db = CommitDatabase.connect(host, port, timeout=10)
        try:
            assert db.documentation() == "commitdb example: the Tuto model"
            assert len(db.commit_ids()) == 2
        finally:
            db.close()
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "The server finished gracefully." in out and "Traceback" not in err
    assert (tmp_path / "example.cdb").exists()
